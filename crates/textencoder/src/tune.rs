//! Fine-tuning the top of the encoder for a labelled task, on the CPU, in minutes.
//!
//! The lower layers stay frozen: their hidden states are computed once per training text
//! (with the fast inference path) and kept, so each training step runs only the top
//! [`TuneConfig::layers`] transformer layers forward and backward, plus a small multi-label
//! head over the pooled, L2-normalised sentence embedding. The result is a set of replacement
//! weights for those layers ([`TunedLayers`], saved as safetensors under the model's own
//! tensor names), which [`crate::SentenceEncoder::load_tuned`] lays over the base model. The
//! training head is discarded: callers fit their own heads on the tuned embeddings, exactly as
//! on the base ones.
//!
//! The forward pass here is written with candle's differentiable tensor ops (no in-place
//! kernels) and computes the same function as `bert.rs`; a unit test checks that the two agree
//! before any training.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use crate::{EncoderError, SentenceEncoder, DIM};

/// How to fine-tune.
#[derive(Debug, Clone)]
pub struct TuneConfig {
    /// Transformer layers trained, counted from the top (the rest stay frozen).
    pub layers: usize,
    /// Passes over the training examples.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// AdamW learning rate of the transformer layers.
    pub layer_learning_rate: f64,
    /// AdamW learning rate of the training head.
    pub head_learning_rate: f64,
    /// The training head reads `scale × embedding` (the embedding is a unit vector).
    pub head_scale: f64,
    /// Seed of the shuffling.
    pub seed: u64,
}

impl Default for TuneConfig {
    fn default() -> Self {
        TuneConfig {
            layers: 1,
            epochs: 2,
            batch_size: 32,
            layer_learning_rate: 1e-4,
            head_learning_rate: 2e-3,
            head_scale: 10.0,
            seed: 17,
        }
    }
}

/// One training example: a text, a 0/1 target per label, and a weight.
#[derive(Debug, Clone)]
pub struct TuneExample {
    /// The text, as the encoder will read it.
    pub text: String,
    /// 0 or 1 per label, the same labels in the same order for every example.
    pub targets: Vec<f32>,
    /// The example's weight in the loss (1 for ordinary examples).
    pub weight: f32,
}

/// Replacement weights for the top layers, under the base model's tensor names.
pub struct TunedLayers {
    tensors: HashMap<String, Tensor>,
}

impl TunedLayers {
    /// Writes the tensors as safetensors.
    pub fn save(&self, path: &Path) -> Result<(), EncoderError> {
        candle_core::safetensors::save(&self.tensors, path)?;
        Ok(())
    }

    /// The tensors, by name.
    pub fn tensors(&self) -> &HashMap<String, Tensor> {
        &self.tensors
    }
}

/// A linear layer `y = x W + b` with `W` stored `[in, out]`, trainable.
struct TrainDense {
    weight_t: Var,
    bias: Var,
}

impl TrainDense {
    fn new(weight: &Tensor, bias: &Tensor) -> candle_core::Result<Self> {
        Ok(TrainDense {
            weight_t: Var::from_tensor(&weight.t()?.contiguous()?)?,
            bias: Var::from_tensor(bias)?,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (batch, seq, in_dim) = x.dims3()?;
        x.reshape((batch * seq, in_dim))?
            .matmul(self.weight_t.as_tensor())?
            .broadcast_add(self.bias.as_tensor())?
            .reshape((batch, seq, ()))
    }

    fn vars(&self) -> Vec<Var> {
        vec![self.weight_t.clone(), self.bias.clone()]
    }
}

struct TrainNorm {
    weight: Var,
    bias: Var,
    eps: f64,
}

impl TrainNorm {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mean = x.mean_keepdim(D::Minus1)?;
        let centred = x.broadcast_sub(&mean)?;
        let variance = centred.sqr()?.mean_keepdim(D::Minus1)?;
        centred
            .broadcast_div(&(variance + self.eps)?.sqrt()?)?
            .broadcast_mul(self.weight.as_tensor())?
            .broadcast_add(self.bias.as_tensor())
    }

    fn vars(&self) -> Vec<Var> {
        vec![self.weight.clone(), self.bias.clone()]
    }
}

/// One BERT layer with trainable weights; the same function as `bert::Layer`.
struct TrainLayer {
    index: usize,
    query: TrainDense,
    key: TrainDense,
    value: TrainDense,
    attention_out: TrainDense,
    attention_norm: TrainNorm,
    intermediate: TrainDense,
    output: TrainDense,
    output_norm: TrainNorm,
}

/// The tensor names of layer `index` in the sentence-transformers export, as
/// (field, weight name, bias name).
fn layer_names(index: usize) -> [(&'static str, String, String); 8] {
    let p = format!("encoder.layer.{index}");
    let pair = |s: &str| (format!("{p}.{s}.weight"), format!("{p}.{s}.bias"));
    let named = |field: &'static str, s: &str| {
        let (w, b) = pair(s);
        (field, w, b)
    };
    [
        named("query", "attention.self.query"),
        named("key", "attention.self.key"),
        named("value", "attention.self.value"),
        named("attention_out", "attention.output.dense"),
        named("attention_norm", "attention.output.LayerNorm"),
        named("intermediate", "intermediate.dense"),
        named("output", "output.dense"),
        named("output_norm", "output.LayerNorm"),
    ]
}

impl TrainLayer {
    fn from_base(
        base: &HashMap<String, Tensor>,
        prefix: &str,
        index: usize,
        eps: f64,
    ) -> Result<Self, String> {
        let get = |name: &str| -> Result<Tensor, String> {
            base.get(&format!("{prefix}{name}"))
                .cloned()
                .ok_or_else(|| format!("tensor {prefix}{name} missing"))
        };
        let names = layer_names(index);
        let dense = |i: usize| -> Result<TrainDense, String> {
            TrainDense::new(&get(&names[i].1)?, &get(&names[i].2)?).map_err(|e| e.to_string())
        };
        let norm = |i: usize| -> Result<TrainNorm, String> {
            Ok(TrainNorm {
                weight: Var::from_tensor(&get(&names[i].1)?).map_err(|e| e.to_string())?,
                bias: Var::from_tensor(&get(&names[i].2)?).map_err(|e| e.to_string())?,
                eps,
            })
        };
        Ok(TrainLayer {
            index,
            query: dense(0)?,
            key: dense(1)?,
            value: dense(2)?,
            attention_out: dense(3)?,
            attention_norm: norm(4)?,
            intermediate: dense(5)?,
            output: dense(6)?,
            output_norm: norm(7)?,
        })
    }

    fn forward(&self, x: &Tensor, additive: &Tensor, heads: usize) -> candle_core::Result<Tensor> {
        let (batch, seq, hidden) = x.dims3()?;
        let head_dim = hidden / heads;
        let split = |t: Tensor| -> candle_core::Result<Tensor> {
            t.reshape((batch, seq, heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = split(self.query.forward(x)?)?;
        let k = split(self.key.forward(x)?)?;
        let v = split(self.value.forward(x)?)?;
        let scores = (q.matmul(&k.t()?.contiguous()?)? / (head_dim as f64).sqrt())?
            .broadcast_add(additive)?;
        let max = scores.max_keepdim(D::Minus1)?.detach();
        let exp = scores.broadcast_sub(&max)?.exp()?;
        let probs = exp.broadcast_div(&exp.sum_keepdim(D::Minus1)?)?;
        let context = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((batch, seq, hidden))?;
        let attended = self
            .attention_norm
            .forward(&(self.attention_out.forward(&context)? + x)?)?;
        let inner = self.intermediate.forward(&attended)?.gelu_erf()?;
        self.output_norm
            .forward(&(self.output.forward(&inner)? + attended)?)
    }

    fn vars(&self) -> Vec<Var> {
        let mut vars = Vec::new();
        for dense in [
            &self.query,
            &self.key,
            &self.value,
            &self.attention_out,
            &self.intermediate,
            &self.output,
        ] {
            vars.extend(dense.vars());
        }
        vars.extend(self.attention_norm.vars());
        vars.extend(self.output_norm.vars());
        vars
    }

    /// The layer's current weights under the export's names (weights back in `[out, in]`).
    fn export(&self, prefix: &str, out: &mut HashMap<String, Tensor>) -> candle_core::Result<()> {
        let names = layer_names(self.index);
        let denses = [
            (&self.query, 0),
            (&self.key, 1),
            (&self.value, 2),
            (&self.attention_out, 3),
            (&self.intermediate, 5),
            (&self.output, 6),
        ];
        for (dense, i) in denses {
            out.insert(
                format!("{prefix}{}", names[i].1),
                dense.weight_t.as_tensor().t()?.contiguous()?.detach(),
            );
            out.insert(
                format!("{prefix}{}", names[i].2),
                dense.bias.as_tensor().detach(),
            );
        }
        for (norm, i) in [(&self.attention_norm, 4), (&self.output_norm, 7)] {
            out.insert(
                format!("{prefix}{}", names[i].1),
                norm.weight.as_tensor().detach(),
            );
            out.insert(
                format!("{prefix}{}", names[i].2),
                norm.bias.as_tensor().detach(),
            );
        }
        Ok(())
    }
}

/// The frozen hidden states of one text: `[seq, hidden]`.
struct Frozen {
    states: Tensor,
    len: usize,
}

/// Pads a batch of frozen states to its longest member: `[batch, seq, hidden]`, the additive
/// attention mask `[batch, 1, 1, seq]` and the pooling mask `[batch, seq, 1]`.
fn pad_batch(items: &[&Frozen]) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
    let seq = items.iter().map(|f| f.len).max().unwrap_or(1);
    let mut rows = Vec::with_capacity(items.len());
    let mut mask = Vec::with_capacity(items.len() * seq);
    for f in items {
        let padded = if f.len < seq {
            Tensor::cat(
                &[
                    &f.states,
                    &Tensor::zeros((seq - f.len, DIM), DType::F32, &Device::Cpu)?,
                ],
                0,
            )?
        } else {
            f.states.clone()
        };
        rows.push(padded);
        mask.extend((0..seq).map(|j| if j < f.len { 1f32 } else { 0f32 }));
    }
    let x = Tensor::stack(&rows, 0)?;
    let mask = Tensor::from_vec(mask, (items.len(), seq), &Device::Cpu)?;
    let additive = ((mask.ones_like()? - &mask)? * -1e9)?
        .unsqueeze(1)?
        .unsqueeze(1)?;
    Ok((x, additive, mask.unsqueeze(2)?))
}

/// Mean over the real tokens, then L2 normalisation: `[batch, hidden]`.
fn pool(hidden: &Tensor, pool_mask: &Tensor) -> candle_core::Result<Tensor> {
    let sum = hidden.broadcast_mul(pool_mask)?.sum(1)?;
    let count = pool_mask.sum(1)?;
    let mean = sum.broadcast_div(&count)?;
    let norm = (mean.sqr()?.sum_keepdim(1)? + 1e-12)?.sqrt()?;
    mean.broadcast_div(&norm)
}

/// A deterministic shuffle (xorshift), so training is reproducible.
fn shuffle<T>(order: &mut [T], seed: &mut u64) {
    for i in (1..order.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let j = (*seed % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
}

/// Progress of a fine-tuning run, reported after each epoch.
#[derive(Debug, Clone)]
pub struct EpochReport {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's steps.
    pub mean_loss: f64,
    /// Wall time of the epoch.
    pub seconds: f64,
}

/// A fine-tuning session: the texts' frozen hidden states, computed once, and the trainable
/// top layers. [`Tuning::train`] fits the layers on some of the texts; [`Tuning::embed_all`]
/// then gives every text's tuned embedding without running the frozen layers again, and
/// [`Tuning::tuned_layers`] the weights to save.
pub struct Tuning {
    frozen: Vec<Frozen>,
    layers: Vec<TrainLayer>,
    heads: usize,
    prefix: String,
}

impl SentenceEncoder {
    /// Starts fine-tuning the top `layers` transformer layers (at least 1, at most all) for
    /// `texts`: runs the frozen layers over every text once.
    pub fn tuning(&self, texts: &[&str], layers: usize) -> Result<Tuning, EncoderError> {
        let total = self.bert.layer_count();
        let trained = layers.clamp(1, total);
        let frozen_layers = total - trained;
        let (base, prefix) = self.base_tensors()?;
        let layers = (frozen_layers..total)
            .map(|i| TrainLayer::from_base(&base, &prefix, i, self.bert.layer_norm_eps()))
            .collect::<Result<Vec<_>, String>>()
            .map_err(|reason| EncoderError::InvalidModel {
                path: self.model_path.clone(),
                reason,
            })?;
        drop(base);
        // Padded batches of texts of similar length; each text keeps its real rows only.
        let (pieces, batches) = self.length_batches(texts)?;
        let mut frozen: Vec<Option<Frozen>> = (0..texts.len()).map(|_| None).collect();
        for batch in batches {
            let rows: Vec<&[u32]> = batch.iter().map(|&i| pieces[i].as_slice()).collect();
            let seq = rows.iter().map(|r| r.len()).max().unwrap_or(1);
            let (ids, mask, padded) = crate::padded_ids(&rows, seq)?;
            let states = self
                .bert
                .forward_layers(&ids, padded.then_some(&mask), frozen_layers)?;
            for (row, &i) in batch.iter().enumerate() {
                let len = pieces[i].len();
                let own = states.get(row)?.narrow(0, 0, len)?.contiguous()?;
                frozen[i] = Some(Frozen { states: own, len });
            }
        }
        let frozen = frozen.into_iter().flatten().collect();
        Ok(Tuning {
            frozen,
            layers,
            heads: self.bert.heads(),
            prefix,
        })
    }
}

impl Tuning {
    /// The pooled embeddings `[batch, hidden]` of the texts `batch` through the current layers.
    fn forward(&self, batch: &[usize]) -> candle_core::Result<Tensor> {
        let items: Vec<&Frozen> = batch.iter().map(|&i| &self.frozen[i]).collect();
        let (mut x, additive, pool_mask) = pad_batch(&items)?;
        for layer in &self.layers {
            x = layer.forward(&x, &additive, self.heads)?;
        }
        pool(&x, &pool_mask)
    }

    /// Trains the layers with a multi-label logistic head on `examples`: (index of the text
    /// given to [`SentenceEncoder::tuning`], 0/1 target per label, weight). `report` is called
    /// after each epoch. The head is discarded afterwards.
    pub fn train(
        &mut self,
        examples: &[(usize, Vec<f32>, f32)],
        config: &TuneConfig,
        mut report: impl FnMut(&EpochReport),
    ) -> Result<(), EncoderError> {
        let labels = examples.first().map_or(0, |e| e.1.len());
        let batch_size = config.batch_size.max(1);
        let head_w = Var::from_tensor(&Tensor::zeros((DIM, labels), DType::F32, &Device::Cpu)?)?;
        let head_b = Var::from_tensor(&Tensor::zeros(labels, DType::F32, &Device::Cpu)?)?;
        let layer_vars: Vec<Var> = self.layers.iter().flat_map(TrainLayer::vars).collect();
        let mut layer_opt = AdamW::new(
            layer_vars,
            ParamsAdamW {
                lr: config.layer_learning_rate,
                weight_decay: 0.01,
                ..ParamsAdamW::default()
            },
        )?;
        let mut head_opt = AdamW::new(
            vec![head_w.clone(), head_b.clone()],
            ParamsAdamW {
                lr: config.head_learning_rate,
                weight_decay: 0.0,
                ..ParamsAdamW::default()
            },
        )?;
        let steps_total = (config.epochs * examples.len().div_ceil(batch_size)).max(1);
        let warm = (steps_total / 10).max(1);
        let mut step = 0usize;
        let mut seed = config.seed | 1;
        for epoch in 0..config.epochs {
            let started = std::time::Instant::now();
            // Batches of similar length (less padding), in shuffled order.
            let mut order: Vec<usize> = (0..examples.len()).collect();
            shuffle(&mut order, &mut seed);
            let mut batches: Vec<Vec<usize>> = Vec::new();
            for group in order.chunks(batch_size * 8) {
                let mut group = group.to_vec();
                group.sort_by_key(|&e| self.frozen[examples[e].0].len);
                batches.extend(group.chunks(batch_size).map(<[usize]>::to_vec));
            }
            shuffle(&mut batches, &mut seed);
            let mut loss_sum = 0f64;
            for batch in &batches {
                let texts: Vec<usize> = batch.iter().map(|&e| examples[e].0).collect();
                let embedding = self.forward(&texts)?;
                let logits = (embedding * config.head_scale)?
                    .matmul(head_w.as_tensor())?
                    .broadcast_add(head_b.as_tensor())?;
                let targets: Vec<f32> = batch
                    .iter()
                    .flat_map(|&e| examples[e].1.iter().copied())
                    .collect();
                let targets = Tensor::from_vec(targets, (batch.len(), labels), &Device::Cpu)?;
                let weights: Vec<f32> = batch.iter().map(|&e| examples[e].2).collect();
                let weights = Tensor::from_vec(weights, (batch.len(), 1), &Device::Cpu)?;
                // Binary cross-entropy on logits, stable form:
                // max(z, 0) - z·y + log(1 + exp(-|z|)).
                let per = ((logits.relu()? - (&logits * &targets)?)?
                    + ((logits.abs()?.neg()?.exp()? + 1.0)?.log()?))?;
                let loss = (per.broadcast_mul(&weights)?.sum_all()?
                    / (batch.len() * labels.max(1)) as f64)?;
                // Linear warm-up over the first tenth of the steps, then linear decay.
                let factor = if step < warm {
                    (step + 1) as f64 / warm as f64
                } else {
                    (steps_total - step) as f64 / (steps_total - warm).max(1) as f64
                };
                layer_opt.set_learning_rate(config.layer_learning_rate * factor);
                head_opt.set_learning_rate(config.head_learning_rate * factor.max(0.1));
                let grads = loss.backward()?;
                layer_opt.step(&grads)?;
                head_opt.step(&grads)?;
                loss_sum += f64::from(loss.to_scalar::<f32>()?);
                step += 1;
            }
            report(&EpochReport {
                epoch: epoch + 1,
                mean_loss: loss_sum / batches.len().max(1) as f64,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
        Ok(())
    }

    /// Every text's embedding through the current layers, in the order given to
    /// [`SentenceEncoder::tuning`] (what the tuned encoder's `embed` returns, within 1e-4).
    pub fn embed_all(&self) -> Result<Vec<Vec<f32>>, EncoderError> {
        let mut order: Vec<usize> = (0..self.frozen.len()).collect();
        order.sort_by_key(|&i| self.frozen[i].len);
        let mut out = vec![Vec::new(); self.frozen.len()];
        for batch in order.chunks(32) {
            let embeddings = self.forward(batch)?.to_vec2::<f32>()?;
            for (&i, e) in batch.iter().zip(embeddings) {
                out[i] = e;
            }
        }
        Ok(out)
    }

    /// The trained layers' weights, to save and to load with
    /// [`SentenceEncoder::load_tuned`].
    pub fn tuned_layers(&self) -> Result<TunedLayers, EncoderError> {
        let mut tensors = HashMap::new();
        for layer in &self.layers {
            layer.export(&self.prefix, &mut tensors)?;
        }
        Ok(TunedLayers { tensors })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::default_dir;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn the_trainable_layers_compute_what_inference_computes() {
        let dir = default_dir().unwrap();
        let encoder = SentenceEncoder::load(&dir).expect("encoder (run ./setup.sh)");
        let texts = [
            "The shuttlecock flew over the net, and everyone cheered.",
            "ok",
            "A much longer sentence about recipes, with flour, eggs and a pinch of salt in it.",
        ];
        let tuning = encoder.tuning(&texts, 2).unwrap();
        for (text, tuned) in texts.iter().zip(tuning.embed_all().unwrap()) {
            let inference = encoder.embed(text).unwrap();
            let worst = inference
                .iter()
                .zip(&tuned)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-4, "{text}: largest difference {worst}");
        }
    }

    #[test]
    fn training_separates_the_classes_and_the_saved_layers_load_back() {
        let dir = default_dir().unwrap();
        let encoder = SentenceEncoder::load(&dir).expect("encoder (run ./setup.sh)");
        let positives = [
            "I will hurt you",
            "you are going to get hurt",
            "I'll break your legs",
        ];
        let negatives = [
            "I will help you",
            "you are going to love it",
            "I'll bake your cake",
        ];
        let texts: Vec<&str> = positives.iter().chain(&negatives).copied().collect();
        let mut tuning = encoder.tuning(&texts, 1).unwrap();
        let examples: Vec<(usize, Vec<f32>, f32)> = (0..texts.len())
            .map(|i| (i, vec![if i < 3 { 1.0 } else { 0.0 }], 1.0))
            .collect();
        let config = TuneConfig {
            layers: 1,
            epochs: 8,
            batch_size: 3,
            layer_learning_rate: 1e-4,
            ..TuneConfig::default()
        };
        let before = tuning.embed_all().unwrap();
        let mut losses = Vec::new();
        tuning
            .train(&examples, &config, |r| losses.push(r.mean_loss))
            .unwrap();
        assert!(losses.last() < losses.first(), "{losses:?}");
        let after = tuning.embed_all().unwrap();
        assert!(
            cosine(&before[0], &after[0]) < 0.99999,
            "the layers did not change"
        );

        let tuned = tuning.tuned_layers().unwrap();
        assert!(tuned.tensors().keys().all(|k| k.contains("layer.5.")));
        assert_eq!(tuned.tensors().len(), 16);
        let path = std::env::temp_dir().join(format!("tuned-{}.safetensors", std::process::id()));
        tuned.save(&path).unwrap();
        let reloaded = SentenceEncoder::load_tuned(&dir, &path).unwrap();
        std::fs::remove_file(&path).ok();
        assert!(reloaded.name_version().contains("+tuned."));
        let embedded = reloaded.embed(texts[0]).unwrap();
        assert!(cosine(&embedded, &after[0]) > 0.9999);
    }
}
