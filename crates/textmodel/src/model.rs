//! [`LinearModel`]: logistic regression over hashed features, its training, calibration and file
//! format.
//!
//! File format (little-endian), version 1:
//! `b"RMPTLM\0\0"`, u32 format version, u32 name length, name bytes (UTF-8), u32 model version,
//! u32 hash bits, u64 corpus fingerprint, f32 bias, f32 Platt a, f32 Platt b, u32 number of
//! non-zero weights n, then n × (u32 bucket, f32 weight).

use std::path::Path;

use crate::corpus::Example;
use crate::features::{HashedFeatures, DIM_BITS};

const MAGIC: &[u8; 8] = b"RMPTLM\0\0";
const FORMAT_VERSION: u32 = 1;

/// Why a model could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("not a Rampart model file (bad magic)")]
    BadMagic,
    #[error("model file format {0} is not supported (this build reads {FORMAT_VERSION})")]
    UnsupportedVersion(u32),
    #[error("model file is truncated or corrupt: {0}")]
    Corrupt(&'static str),
    #[error("{name}@{version} was trained for other features (this build needs version {MODEL_VERSION}): run ./setup.sh to retrain")]
    Stale { name: String, version: u32 },
}

/// The model version this build's feature extraction and training produce. Bumped whenever
/// either changes; models of another version are refused rather than silently mis-scored.
/// 3: links, handles and HTML character references are left out of the features.
/// 4: whole words only (no character n-grams), over the normalised text; trained with the
/// functional suite and ordinary sentences of `data/text` beside the tweet corpus.
pub const MODEL_VERSION: u32 = 4;

/// Hyperparameters of training.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    /// Weight of positive examples relative to negatives (class imbalance).
    pub positive_weight: f32,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 12,
            learning_rate: 0.4,
            l2: 1e-6,
            positive_weight: 1.0,
            seed: 0x5eed,
        }
    }
}

/// A trained, calibrated binary classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModel {
    name: String,
    version: u32,
    corpus_fingerprint: u64,
    bias: f32,
    platt_a: f32,
    platt_b: f32,
    weights: Vec<f32>,
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

impl LinearModel {
    /// The model's name, e.g. `text-spam`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The model version it was trained as.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// `name@version`, e.g. `text-spam@1`.
    pub fn name_version(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// The raw (uncalibrated) margin for features.
    pub fn margin(&self, features: &HashedFeatures) -> f32 {
        features
            .iter()
            .fold(self.bias, |acc, (i, v)| acc + self.weights[i] * v)
    }

    /// Calibrated probability for precomputed features.
    pub fn predict_features(&self, features: &HashedFeatures) -> f32 {
        sigmoid(self.platt_a * self.margin(features) + self.platt_b)
    }

    /// Calibrated probability that `text` is positive.
    pub fn predict(&self, text: &str) -> f32 {
        HashedFeatures::with_thread_local(text, |f| self.predict_features(f))
    }

    /// The binary file form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let nonzero: Vec<(u32, f32)> = self
            .weights
            .iter()
            .enumerate()
            .filter(|(_, w)| **w != 0.0)
            .map(|(i, w)| (i as u32, *w))
            .collect();
        let mut out = Vec::with_capacity(64 + nonzero.len() * 8);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.name.len() as u32).to_le_bytes());
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&DIM_BITS.to_le_bytes());
        out.extend_from_slice(&self.corpus_fingerprint.to_le_bytes());
        for v in [self.bias, self.platt_a, self.platt_b] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(nonzero.len() as u32).to_le_bytes());
        for (i, w) in nonzero {
            out.extend_from_slice(&i.to_le_bytes());
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// Reads the binary file form; any inconsistency is an error, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(8)? != MAGIC {
            return Err(ModelError::BadMagic);
        }
        let format = r.u32()?;
        if format != FORMAT_VERSION {
            return Err(ModelError::UnsupportedVersion(format));
        }
        let name_len = r.u32()? as usize;
        if name_len > 256 {
            return Err(ModelError::Corrupt("name too long"));
        }
        let name = std::str::from_utf8(r.take(name_len)?)
            .map_err(|_| ModelError::Corrupt("name is not UTF-8"))?
            .to_owned();
        let version = r.u32()?;
        if r.u32()? != DIM_BITS {
            return Err(ModelError::Corrupt("hash size differs from this build"));
        }
        let corpus_fingerprint = r.u64()?;
        let bias = r.f32()?;
        let platt_a = r.f32()?;
        let platt_b = r.f32()?;
        let n = r.u32()? as usize;
        let dim = 1usize << DIM_BITS;
        if n > dim || r.remaining() != n * 8 {
            return Err(ModelError::Corrupt(
                "weight count does not match the file size",
            ));
        }
        let mut weights = vec![0.0f32; dim];
        for _ in 0..n {
            let i = r.u32()? as usize;
            let w = r.f32()?;
            if i >= dim || !w.is_finite() {
                return Err(ModelError::Corrupt(
                    "weight index out of range or not finite",
                ));
            }
            weights[i] = w;
        }
        if ![bias, platt_a, platt_b].iter().all(|v| v.is_finite()) {
            return Err(ModelError::Corrupt("bias or calibration not finite"));
        }
        Ok(LinearModel {
            name,
            version,
            corpus_fingerprint,
            bias,
            platt_a,
            platt_b,
            weights,
        })
    }

    /// Reads a model file.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }

    /// Writes a model file (to a temporary name, then renamed into place).
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let io = |source| ModelError::Io {
            path: path.display().to_string(),
            source,
        };
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, self.to_bytes()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end = self
            .at
            .checked_add(n)
            .ok_or(ModelError::Corrupt("length overflow"))?;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or(ModelError::Corrupt("unexpected end of file"))?;
        self.at = end;
        Ok(slice)
    }
    fn u32(&mut self) -> Result<u32, ModelError> {
        Ok(u32::from_le_bytes(
            self.take(4)?
                .try_into()
                .map_err(|_| ModelError::Corrupt("u32"))?,
        ))
    }
    fn u64(&mut self) -> Result<u64, ModelError> {
        Ok(u64::from_le_bytes(
            self.take(8)?
                .try_into()
                .map_err(|_| ModelError::Corrupt("u64"))?,
        ))
    }
    fn f32(&mut self) -> Result<f32, ModelError> {
        Ok(f32::from_le_bytes(
            self.take(4)?
                .try_into()
                .map_err(|_| ModelError::Corrupt("f32"))?,
        ))
    }
    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }
}

/// Trains a model on `train` and calibrates it on `validation` (text, is-positive pairs).
///
/// Deterministic: the same inputs and config give the same weights, bit for bit (one thread,
/// a fixed shuffle seed, AdaGrad updates in a fixed order).
pub fn train(
    name: &str,
    version: u32,
    corpus_fingerprint: u64,
    train: &[Example],
    validation: &[Example],
    config: &TrainConfig,
) -> LinearModel {
    let dim = 1usize << DIM_BITS;
    let features: Vec<HashedFeatures> = train
        .iter()
        .map(|(t, _)| {
            let mut f = HashedFeatures::default();
            f.extract(t);
            f
        })
        .collect();
    let mut weights = vec![0.0f32; dim];
    let mut grad_sq = vec![1e-8f32; dim];
    let mut bias = 0.0f32;
    let mut bias_sq = 1e-8f32;
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut rng = config.seed | 1;
    for _ in 0..config.epochs {
        for i in (1..order.len()).rev() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            order.swap(i, (rng % (i as u64 + 1)) as usize);
        }
        for &k in &order {
            let f = &features[k];
            let y = if train[k].1 { 1.0 } else { 0.0 };
            let weight = if train[k].1 {
                config.positive_weight
            } else {
                1.0
            };
            let z = f.iter().fold(bias, |acc, (i, v)| acc + weights[i] * v);
            let g = (sigmoid(z) - y) * weight;
            for (i, v) in f.iter() {
                let grad = g * v + config.l2 * weights[i];
                grad_sq[i] += grad * grad;
                weights[i] -= config.learning_rate * grad / grad_sq[i].sqrt();
            }
            bias_sq += g * g;
            bias -= config.learning_rate * g / bias_sq.sqrt();
        }
    }
    let mut model = LinearModel {
        name: name.to_owned(),
        version,
        corpus_fingerprint,
        bias,
        platt_a: 1.0,
        platt_b: 0.0,
        weights,
    };
    let margins: Vec<(f32, bool)> = validation
        .iter()
        .map(|(t, y)| {
            (
                HashedFeatures::with_thread_local(t, |f| model.margin(f)),
                *y,
            )
        })
        .collect();
    let (a, b) = platt(&margins);
    model.platt_a = a;
    model.platt_b = b;
    model
}

/// Fits p = σ(a·m + b) to (margin, label) pairs by Newton's method on the log loss, with
/// Platt's smoothed targets so the fit stays finite on separable data.
pub(crate) fn platt(margins: &[(f32, bool)]) -> (f32, f32) {
    if margins.is_empty() {
        return (1.0, 0.0);
    }
    let positives = margins.iter().filter(|(_, y)| *y).count() as f64;
    let negatives = margins.len() as f64 - positives;
    let hi = (positives + 1.0) / (positives + 2.0);
    let lo = 1.0 / (negatives + 2.0);
    let target = |y: bool| if y { hi } else { lo };
    let loss = |a: f64, b: f64| -> f64 {
        margins
            .iter()
            .map(|&(m, y)| {
                let z = a * f64::from(m) + b;
                let t = target(y);
                // Numerically stable log(1 + e^z) - t·z.
                let softplus = if z > 0.0 {
                    z + (-z).exp().ln_1p()
                } else {
                    z.exp().ln_1p()
                };
                softplus - t * z
            })
            .sum()
    };
    let (mut a, mut b) = (1.0f64, 0.0f64);
    let mut current = loss(a, b);
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-9, 0.0, 1e-9);
        for &(m, y) in margins {
            let m = f64::from(m);
            let p = 1.0 / (1.0 + (-(a * m + b)).exp());
            let d = p - target(y);
            ga += d * m;
            gb += d;
            let w = (p * (1.0 - p)).max(1e-12);
            haa += w * m * m;
            hab += w * m;
            hbb += w;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-18 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        // Backtracking: halve the Newton step until the loss goes down.
        let mut step = 1.0;
        let mut improved = false;
        while step > 1e-6 {
            let (na, nb) = (a - step * da, b - step * db);
            let next = loss(na, nb);
            if next < current {
                a = na;
                b = nb;
                current = next;
                improved = true;
                break;
            }
            step /= 2.0;
        }
        if !improved || (step * da).abs() < 1e-9 && (step * db).abs() < 1e-9 {
            break;
        }
    }
    (a as f32, b as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> (Vec<Example>, Vec<Example>) {
        let pos = [
            "win a free prize now",
            "claim your free cash prize",
            "free entry win now",
            "urgent prize claim call",
        ];
        let neg = [
            "see you at lunch",
            "how was your day",
            "meeting moved to friday",
            "love you mum",
        ];
        let data: Vec<Example> = pos
            .iter()
            .map(|s| (s.to_string(), true))
            .chain(neg.iter().map(|s| (s.to_string(), false)))
            .collect();
        (data.clone(), data)
    }

    #[test]
    fn a_tiny_training_set_is_separated_and_calibrated() {
        let (tr, va) = toy();
        let m = train("toy", 1, 0, &tr, &va, &TrainConfig::default());
        let p = m.predict("free prize, claim now");
        let q = m.predict("lunch on friday?");
        assert!(p > 0.5 && q < 0.5, "{p} {q}");
        assert!((0.0..=1.0).contains(&p) && (0.0..=1.0).contains(&q));
    }

    #[test]
    fn training_is_reproducible_byte_for_byte() {
        let (tr, va) = toy();
        let a = train("toy", 1, 0, &tr, &va, &TrainConfig::default()).to_bytes();
        let b = train("toy", 1, 0, &tr, &va, &TrainConfig::default()).to_bytes();
        assert_eq!(a, b);
    }

    #[test]
    fn file_form_round_trips_and_corruption_is_an_error() {
        let (tr, va) = toy();
        let m = train("toy", 3, 42, &tr, &va, &TrainConfig::default());
        let bytes = m.to_bytes();
        assert_eq!(LinearModel::from_bytes(&bytes).unwrap(), m);
        assert_eq!(m.name_version(), "toy@3");
        for cut in [0, 4, 8, 20, bytes.len() - 1] {
            assert!(
                LinearModel::from_bytes(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert!(matches!(
            LinearModel::from_bytes(&bad),
            Err(ModelError::BadMagic)
        ));
        let mut future = bytes.clone();
        future[8] = 9;
        assert!(matches!(
            LinearModel::from_bytes(&future),
            Err(ModelError::UnsupportedVersion(9))
        ));
        let mut index = bytes;
        let at = index.len() - 8;
        index[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(LinearModel::from_bytes(&index).is_err());
    }

    #[test]
    fn platt_scaling_is_monotonic() {
        let margins: Vec<(f32, bool)> = (0..100).map(|i| (i as f32 / 10.0 - 5.0, i > 50)).collect();
        let (a, _) = platt(&margins);
        assert!(a > 0.0);
    }
}
