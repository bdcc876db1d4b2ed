//! The BERT encoder of all-MiniLM-L6-v2 (6 post-norm layers, 12 heads, hidden 384) on
//! candle tensors. It computes what Hugging Face's `BertModel` computes for one segment
//! (token type 0) and absolute positions, with shortcuts that change no result beyond float
//! rounding: the query, key and value projections run as one matrix product on weights
//! stored transposed, the token-type-0 row is folded into the position table at load time,
//! and GELU, LayerNorm and softmax run in place in the calling thread (`gelu.rs`, `ops.rs`).

use candle_core::{Module, Tensor};
use candle_nn::{Embedding, VarBuilder};
use serde::Deserialize;

use crate::gelu::gelu_erf_inplace;
use crate::ops::{softmax_last_dim_inplace, LayerNorm};

/// The fields of the model's `config.json` this encoder reads.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub hidden_act: String,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    #[serde(default = "absolute")]
    pub position_embedding_type: String,
}

fn absolute() -> String {
    "absolute".to_owned()
}

impl BertConfig {
    /// Why this configuration cannot be run by [`Bert`], if it cannot.
    pub fn unsupported(&self) -> Option<String> {
        if self.hidden_act != "gelu" {
            return Some(format!(
                "hidden_act {:?} (only \"gelu\", exact erf)",
                self.hidden_act
            ));
        }
        if self.position_embedding_type != "absolute" {
            return Some(format!(
                "position_embedding_type {:?} (only \"absolute\")",
                self.position_embedding_type
            ));
        }
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Some(format!(
                "hidden_size {} not divisible by num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if self.type_vocab_size == 0 {
            return Some("type_vocab_size 0".to_owned());
        }
        None
    }
}

/// A dense layer `y = x Wᵀ + b` whose weight is stored transposed (`[in, out]`, contiguous).
/// gemm then reads the weight in place; with candle-nn's `Linear` (`[out, in]`) it copies the
/// whole weight into a packed buffer on every call, which for a few tokens costs more than
/// the arithmetic (the weights are 42 MB and this runs once per layer and projection).
struct Dense {
    weight_t: Tensor,
    bias: Tensor,
}

impl Dense {
    fn load(vb: &VarBuilder, in_dim: usize, out_dim: usize) -> candle_core::Result<Self> {
        Self::from_parts(
            &vb.get((out_dim, in_dim), "weight")?,
            vb.get(out_dim, "bias")?,
        )
    }

    /// From a PyTorch-layout weight `[out, in]` and bias `[out]`.
    fn from_parts(weight: &Tensor, bias: Tensor) -> candle_core::Result<Self> {
        Ok(Self {
            weight_t: weight.t()?.contiguous()?,
            bias,
        })
    }

    /// `x`: `[batch, seq, in]` -> `[batch, seq, out]`.
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (batch, seq, in_dim) = x.dims3()?;
        x.reshape((batch * seq, in_dim))?
            .matmul(&self.weight_t)?
            .broadcast_add(&self.bias)?
            .reshape((batch, seq, ()))
    }
}

fn layer_norm(vb: &VarBuilder, size: usize, eps: f64) -> candle_core::Result<LayerNorm> {
    LayerNorm::new(&vb.get(size, "weight")?, &vb.get(size, "bias")?, eps)
}

/// One transformer layer: self-attention, then the feed-forward block, each followed by a
/// residual add and LayerNorm (BERT's post-norm order).
struct Layer {
    /// Query, key and value projections stacked into one `hidden -> 3 * hidden` product.
    qkv: Dense,
    attention_out: Dense,
    attention_norm: LayerNorm,
    intermediate: Dense,
    output: Dense,
    output_norm: LayerNorm,
}

impl Layer {
    fn load(vb: &VarBuilder, cfg: &BertConfig) -> candle_core::Result<Self> {
        let h = cfg.hidden_size;
        let att = vb.pp("attention");
        let own = att.pp("self");
        let (q, k, v) = (own.pp("query"), own.pp("key"), own.pp("value"));
        let weight = Tensor::cat(
            &[
                q.get((h, h), "weight")?,
                k.get((h, h), "weight")?,
                v.get((h, h), "weight")?,
            ],
            0,
        )?;
        let bias = Tensor::cat(
            &[q.get(h, "bias")?, k.get(h, "bias")?, v.get(h, "bias")?],
            0,
        )?;
        Ok(Self {
            qkv: Dense::from_parts(&weight, bias)?,
            attention_out: Dense::load(&att.pp("output").pp("dense"), h, h)?,
            attention_norm: layer_norm(&att.pp("output").pp("LayerNorm"), h, cfg.layer_norm_eps)?,
            intermediate: Dense::load(
                &vb.pp("intermediate").pp("dense"),
                h,
                cfg.intermediate_size,
            )?,
            output: Dense::load(&vb.pp("output").pp("dense"), cfg.intermediate_size, h)?,
            output_norm: layer_norm(&vb.pp("output").pp("LayerNorm"), h, cfg.layer_norm_eps)?,
        })
    }

    /// `x`: `[batch, seq, hidden]`; `mask`: additive `[batch, 1, 1, seq]` (0 for tokens,
    /// `f32::MIN` for padding) or `None` when nothing is padded.
    fn forward(
        &self,
        x: &Tensor,
        mask: Option<&Tensor>,
        heads: usize,
    ) -> candle_core::Result<Tensor> {
        let (batch, seq, hidden) = x.dims3()?;
        let head_dim = hidden / heads;
        // [batch, seq, 3, heads, head_dim] -> [3, batch, heads, seq, head_dim]
        let qkv = self
            .qkv
            .forward(x)?
            .reshape((batch, seq, 3, heads, head_dim))?
            .permute((2, 0, 3, 1, 4))?;
        let q = qkv.get(0)?.contiguous()?;
        let k = qkv.get(1)?.contiguous()?;
        let v = qkv.get(2)?.contiguous()?;
        let scores = (q.matmul(&k.t()?)? / (head_dim as f64).sqrt())?;
        let scores = match mask {
            Some(mask) => scores.broadcast_add(mask)?,
            None => scores,
        };
        softmax_last_dim_inplace(&scores)?;
        let context = scores
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((batch, seq, hidden))?;
        let attended = (self.attention_out.forward(&context)? + x)?;
        self.attention_norm.apply(&attended)?;
        let inner = self.intermediate.forward(&attended)?;
        gelu_erf_inplace(&inner)?;
        let out = (self.output.forward(&inner)? + attended)?;
        self.output_norm.apply(&out)?;
        Ok(out)
    }
}

/// The encoder: embeddings and the transformer layers (the pooler is not used).
pub(crate) struct Bert {
    word_embeddings: Embedding,
    /// Position embeddings plus the token-type-0 embedding, `[max_positions, hidden]`.
    position_and_type: Tensor,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    layer_norm_eps: f64,
}

impl Bert {
    /// Loads the weights; names may carry a `bert.` prefix (as in `BertForMaskedLM` exports)
    /// or not (as in the sentence-transformers export).
    pub fn load(vb: VarBuilder, cfg: &BertConfig) -> candle_core::Result<Self> {
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb
        };
        let h = cfg.hidden_size;
        let emb = vb.pp("embeddings");
        let word = emb.get((cfg.vocab_size, h), "word_embeddings.weight")?;
        let positions = emb.get(
            (cfg.max_position_embeddings, h),
            "position_embeddings.weight",
        )?;
        let types = emb.get((cfg.type_vocab_size, h), "token_type_embeddings.weight")?;
        let position_and_type = positions.broadcast_add(&types.get(0)?)?;
        let enc = vb.pp("encoder").pp("layer");
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| Layer::load(&enc.pp(i), cfg))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self {
            word_embeddings: Embedding::new(word, h),
            position_and_type,
            embedding_norm: layer_norm(&emb.pp("LayerNorm"), h, cfg.layer_norm_eps)?,
            layers,
            heads: cfg.num_attention_heads,
            layer_norm_eps: cfg.layer_norm_eps,
        })
    }

    /// Last hidden states `[batch, seq, hidden]` for `ids` `[batch, seq]` (u32). `mask`
    /// `[batch, seq]` (f32, 1 for tokens, 0 for padding) is `None` when nothing is padded.
    pub fn forward(&self, ids: &Tensor, mask: Option<&Tensor>) -> candle_core::Result<Tensor> {
        self.forward_layers(ids, mask, self.layers.len())
    }

    /// Attention heads per layer.
    pub fn heads(&self) -> usize {
        self.heads
    }

    /// The LayerNorm epsilon of the configuration.
    pub fn layer_norm_eps(&self) -> f64 {
        self.layer_norm_eps
    }

    /// Number of transformer layers.
    pub fn layer_count(&self) -> usize {
        self.layers.len()
    }

    /// The hidden states after the first `layers` transformer layers (all of them: the last
    /// hidden states); inputs as [`Bert::forward`].
    pub fn forward_layers(
        &self,
        ids: &Tensor,
        mask: Option<&Tensor>,
        layers: usize,
    ) -> candle_core::Result<Tensor> {
        let seq = ids.dim(1)?;
        let mut x = self
            .word_embeddings
            .forward(ids)?
            .broadcast_add(&self.position_and_type.narrow(0, 0, seq)?)?;
        self.embedding_norm.apply(&x)?;
        // Hugging Face's extended attention mask: (1 - mask) * finfo(f32).min, added to the
        // attention scores so padded keys get exactly zero weight after the softmax.
        let additive = match mask {
            Some(mask) => Some(
                ((mask.ones_like()? - mask)? * f64::from(f32::MIN))?
                    .unsqueeze(1)?
                    .unsqueeze(1)?,
            ),
            None => None,
        };
        for layer in self.layers.iter().take(layers) {
            x = layer.forward(&x, additive.as_ref(), self.heads)?;
        }
        Ok(x)
    }
}
