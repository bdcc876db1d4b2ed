//! In-place LayerNorm and softmax over the last dimension, run in the calling thread.
//! candle-nn's versions split rows over rayon's global pool even for a 16-token sentence, so
//! each of the 19 calls per sentence hands the work to a pool thread and waits for it; these
//! plain loops avoid that hop (and the allocation of a new output).

use candle_core::{bail, CpuStorage, InplaceOp1, Layout, Tensor};

/// The contiguous f32 data of `layout` in `storage` and the length of its last dimension.
fn rows<'a>(
    op: &str,
    storage: &'a mut CpuStorage,
    layout: &Layout,
) -> candle_core::Result<(&'a mut [f32], usize)> {
    let CpuStorage::F32(data) = storage else {
        bail!("{op}: f32 tensors only")
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        bail!("{op}: contiguous tensors only")
    };
    let width = layout.dims().last().copied().unwrap_or(1).max(1);
    Ok((&mut data[start..end], width))
}

/// LayerNorm over the last dimension with learned scale and shift, as `torch.nn.LayerNorm`
/// (biased variance, `eps` inside the square root).
pub(crate) struct LayerNorm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl LayerNorm {
    pub fn new(weight: &Tensor, bias: &Tensor, eps: f64) -> candle_core::Result<Self> {
        let (weight, bias) = (weight.to_vec1::<f32>()?, bias.to_vec1::<f32>()?);
        if weight.len() != bias.len() {
            bail!(
                "layer norm: {} weights, {} biases",
                weight.len(),
                bias.len()
            );
        }
        Ok(Self {
            weight,
            bias,
            eps: eps as f32,
        })
    }

    /// Normalises `x` (contiguous, last dimension = the weight's length) in place. `x` must
    /// not share its storage with a tensor still in use.
    pub fn apply(&self, x: &Tensor) -> candle_core::Result<()> {
        x.inplace_op1(self)
    }
}

impl InplaceOp1 for LayerNorm {
    fn name(&self) -> &'static str {
        "layer-norm"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let (data, width) = rows(self.name(), storage, layout)?;
        if width != self.weight.len() {
            bail!(
                "layer norm: rows of {width}, weights of {}",
                self.weight.len()
            );
        }
        let n = width as f32;
        for row in data.chunks_exact_mut(width) {
            let mean = row.iter().sum::<f32>() / n;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
            let inv = 1.0 / (var + self.eps).sqrt();
            for ((v, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
                *v = (*v - mean) * inv * w + b;
            }
        }
        Ok(())
    }
}

/// Softmax over the last dimension, in place (max subtracted first, as torch does).
pub(crate) fn softmax_last_dim_inplace(x: &Tensor) -> candle_core::Result<()> {
    x.inplace_op1(&SoftmaxLastDim)
}

struct SoftmaxLastDim;

impl InplaceOp1 for SoftmaxLastDim {
    fn name(&self) -> &'static str {
        "softmax-last-dim"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let (data, width) = rows(self.name(), storage, layout)?;
        for row in data.chunks_exact_mut(width) {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0f32;
            for v in row.iter_mut() {
                *v = (*v - max).exp();
                sum += *v;
            }
            let inv = 1.0 / sum;
            for v in row.iter_mut() {
                *v *= inv;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn values(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1().unwrap()
    }

    #[test]
    fn layer_norm_matches_candle_nn() {
        let x = Tensor::new(
            &[[1f32, 2.0, 4.0, 8.0], [-3.0, 0.5, 0.5, 9.0]],
            &Device::Cpu,
        )
        .unwrap();
        let w = Tensor::new(&[1f32, 0.5, 2.0, -1.0], &Device::Cpu).unwrap();
        let b = Tensor::new(&[0f32, 0.1, -0.2, 0.3], &Device::Cpu).unwrap();
        let want = values(&candle_nn::ops::layer_norm(&x, &w, &b, 1e-12).unwrap());
        let got = x.copy().unwrap();
        LayerNorm::new(&w, &b, 1e-12).unwrap().apply(&got).unwrap();
        for (g, w) in values(&got).iter().zip(&want) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
    }

    #[test]
    fn softmax_matches_candle_nn_and_zeroes_masked_entries() {
        let x = Tensor::new(
            &[
                [[1f32, 2.0, 3.0], [0.0, f32::MIN, -1.0]],
                [[5.0, 5.0, 5.0], [-2.0, 7.0, f32::MIN]],
            ],
            &Device::Cpu,
        )
        .unwrap();
        let want = values(&candle_nn::ops::softmax_last_dim(&x).unwrap());
        let got = x.copy().unwrap();
        softmax_last_dim_inplace(&got).unwrap();
        let got = values(&got);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-7, "{got:?} vs {want:?}");
        }
        assert_eq!(got[4], 0.0);
        assert_eq!(got[11], 0.0);
    }

    #[test]
    fn rejects_a_width_mismatch() {
        let x = Tensor::zeros((2, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
        let w = Tensor::ones(4, candle_core::DType::F32, &Device::Cpu).unwrap();
        let norm = LayerNorm::new(&w, &w, 1e-12).unwrap();
        assert!(norm.apply(&x).is_err());
    }
}
