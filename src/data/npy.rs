//! The `.npy` array format (numpy's `format.py`, versions 1.0–3.0): a magic string, a
//! Python-dict header with `descr`, `fortran_order` and `shape`, then raw element bytes.
//! Written by hand because the header is a fixed dict literal, and a general Python-literal
//! parser (what `ndarray-npy` pulls in via `py_literal`/`pest`) costs far more build time.

use super::error::DataError;

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// One array: C-order elements stored little-endian, whatever the file's byte order was.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// numpy type string normalised to little-endian, e.g. `<f4`, `<f8`, `|b1`.
    pub descr: String,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

impl NpyArray {
    pub fn from_f32(shape: Vec<usize>, values: &[f32]) -> Self {
        let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        NpyArray {
            descr: "<f4".to_string(),
            shape,
            data,
        }
    }

    pub fn from_bool(shape: Vec<usize>, values: &[bool]) -> Self {
        NpyArray {
            descr: "|b1".to_string(),
            shape,
            data: values.iter().map(|&b| u8::from(b)).collect(),
        }
    }

    pub fn from_u8(shape: Vec<usize>, values: &[u8]) -> Self {
        NpyArray {
            descr: "|u1".to_string(),
            shape,
            data: values.to_vec(),
        }
    }

    /// Number of elements (product of the shape; 1 for a scalar).
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Float values; `<f8` is narrowed to f32 (the model trains in f32), other types refused.
    pub fn to_f32(&self, file: &str, key: &str) -> Result<Vec<f32>, DataError> {
        match self.descr.as_str() {
            "<f4" => Ok(self
                .data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()),
            "<f8" => Ok(self
                .data
                .chunks_exact(8)
                .map(|c| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(c);
                    f64::from_le_bytes(b) as f32
                })
                .collect()),
            other => Err(DataError::WrongDtype {
                file: file.to_string(),
                key: key.to_string(),
                expected: "float32 (<f4) or float64 (<f8)".to_string(),
                found: other.to_string(),
            }),
        }
    }

    /// Bytes of a `|u1` (uint8) array, e.g. image pixels; consumes the array, as those are large.
    pub fn into_u8(self, file: &str, key: &str) -> Result<Vec<u8>, DataError> {
        if self.descr != "|u1" {
            return Err(DataError::WrongDtype {
                file: file.to_string(),
                key: key.to_string(),
                expected: "uint8 (|u1)".to_string(),
                found: self.descr,
            });
        }
        Ok(self.data)
    }

    /// Boolean values from `|b1` (or one-byte integers holding only 0 and 1).
    pub fn to_bool(&self, file: &str, key: &str) -> Result<Vec<bool>, DataError> {
        if !matches!(self.descr.as_str(), "|b1" | "|u1" | "|i1") {
            return Err(DataError::WrongDtype {
                file: file.to_string(),
                key: key.to_string(),
                expected: "bool (|b1)".to_string(),
                found: self.descr.clone(),
            });
        }
        bytes_to_bool(&self.data, file, key)
    }

    /// Serialises to `.npy` bytes (version 1.0 unless the header needs 2.0), laid out as numpy
    /// does, so numpy reads it and a re-write is byte-identical.
    pub fn to_npy_bytes(&self) -> Vec<u8> {
        let shape = match self.shape.as_slice() {
            [] => "()".to_string(),
            [d] => format!("({d},)"),
            dims => {
                let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
                format!("({})", parts.join(", "))
            }
        };
        let mut header = format!(
            "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
            self.descr, shape
        );
        // numpy pads so the data starts on a 64-byte boundary; the header ends with '\n'.
        let padded = |prefix: usize| (prefix + header.len() + 1).div_ceil(64) * 64;
        let v1 = padded(10) - 10 <= u16::MAX as usize;
        let prefix = if v1 { 10 } else { 12 };
        let total = padded(prefix);
        while prefix + header.len() + 1 < total {
            header.push(' ');
        }
        header.push('\n');
        let mut out = Vec::with_capacity(total + self.data.len());
        out.extend_from_slice(MAGIC);
        if v1 {
            out.extend_from_slice(&[1, 0]);
            out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&[2, 0]);
            out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&self.data);
        out
    }

    /// The shape in the header at the start of `.npy` bytes, without the data (which may be
    /// absent): lets a reader check every array's shape before decompressing any of them.
    pub fn peek_shape(prefix: &[u8], file: &str, key: &str) -> Result<Vec<usize>, DataError> {
        Header::parse(prefix, file, key).map(|h| h.shape)
    }

    /// Parses `.npy` bytes; `file`/`key` only label errors.
    pub fn from_npy_bytes(bytes: &[u8], file: &str, key: &str) -> Result<Self, DataError> {
        let corrupt = |message: String| DataError::Corrupt {
            file: file.to_string(),
            field: key.to_string(),
            message,
        };
        let Header {
            descr,
            fortran,
            shape,
            start,
        } = Header::parse(bytes, file, key)?;
        let descr = descr.as_str();
        let (descr, item, swap) = normalise_descr(descr).ok_or_else(|| DataError::WrongDtype {
            file: file.to_string(),
            key: key.to_string(),
            expected: "a plain numeric or bool dtype".to_string(),
            found: descr.to_string(),
        })?;
        let numel = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| corrupt(format!("shape {shape:?} overflows")))?;
        let nbytes = numel
            .checked_mul(item)
            .ok_or_else(|| corrupt(format!("shape {shape:?} overflows")))?;
        let body = bytes.get(start..).unwrap_or_default();
        if body.len() < nbytes {
            return Err(corrupt(format!(
                "truncated: shape {shape:?} needs {nbytes} bytes, found {}",
                body.len()
            )));
        }
        let mut data = body[..nbytes].to_vec();
        if swap {
            data.chunks_exact_mut(item).for_each(|c| c.reverse());
        }
        if fortran && shape.len() > 1 {
            data = fortran_to_c(&data, &shape, item);
        }
        Ok(NpyArray { descr, shape, data })
    }
}

/// A parsed `.npy` header and where the data starts.
struct Header {
    descr: String,
    fortran: bool,
    shape: Vec<usize>,
    start: usize,
}

impl Header {
    fn parse(bytes: &[u8], file: &str, key: &str) -> Result<Self, DataError> {
        let corrupt = |message: String| DataError::Corrupt {
            file: file.to_string(),
            field: key.to_string(),
            message,
        };
        if bytes.len() < 10 || &bytes[..6] != MAGIC {
            return Err(corrupt("not a .npy array (bad magic)".to_string()));
        }
        let (header_len, start): (usize, usize) = match bytes[6] {
            1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
            2 | 3 if bytes.len() >= 12 => (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            ),
            v => return Err(corrupt(format!("unsupported .npy version {v}"))),
        };
        let header = start
            .checked_add(header_len)
            .and_then(|end| bytes.get(start..end))
            .ok_or_else(|| corrupt("header runs past the end of the array".to_string()))?;
        let header =
            std::str::from_utf8(header).map_err(|_| corrupt("header is not UTF-8".to_string()))?;
        let descr = dict_value(header, "descr")
            .and_then(parse_quoted)
            .ok_or_else(|| corrupt(format!("no `descr` in header {header:?}")))?;
        let fortran = match dict_value(header, "fortran_order") {
            Some(v) if v.starts_with("True") => true,
            Some(v) if v.starts_with("False") => false,
            _ => return Err(corrupt(format!("no `fortran_order` in header {header:?}"))),
        };
        let shape = dict_value(header, "shape")
            .and_then(parse_shape)
            .ok_or_else(|| corrupt(format!("no valid `shape` in header {header:?}")))?;

        Ok(Header {
            descr: descr.to_string(),
            fortran,
            shape,
            start: start + header_len,
        })
    }
}

/// One-byte 0/1 values as bools; anything else means the data is not boolean.
pub(crate) fn bytes_to_bool(data: &[u8], file: &str, key: &str) -> Result<Vec<bool>, DataError> {
    data.iter()
        .enumerate()
        .map(|(row, &b)| match b {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(DataError::Corrupt {
                file: file.to_string(),
                field: key.to_string(),
                message: format!("value {other} at row {row} is not a boolean (0 or 1)"),
            }),
        })
        .collect()
}

/// The text after `'key':` in the header dict, left-trimmed.
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("'{key}':");
    let at = header.find(&pat)? + pat.len();
    Some(header[at..].trim_start())
}

fn parse_quoted(s: &str) -> Option<&str> {
    let quote = s.chars().next().filter(|&c| c == '\'' || c == '"')?;
    let rest = &s[1..];
    Some(&rest[..rest.find(quote)?])
}

fn parse_shape(s: &str) -> Option<Vec<usize>> {
    let inner = s.strip_prefix('(')?;
    let inner = &inner[..inner.find(')')?];
    inner
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        // Python 2 era writers emit longs such as `300L`.
        .map(|p| p.trim_end_matches('L').parse().ok())
        .collect()
}

/// (little-endian descr, item size, whether bytes need swapping) for supported types.
fn normalise_descr(descr: &str) -> Option<(String, usize, bool)> {
    let mut chars = descr.chars();
    let order = chars.next()?;
    let kind = chars.next()?;
    let size: usize = chars.as_str().parse().ok()?;
    if !matches!(kind, 'f' | 'i' | 'u' | 'b') || !matches!(size, 1 | 2 | 4 | 8) {
        return None;
    }
    let big = match order {
        '<' | '|' => false,
        '>' => true,
        '=' => cfg!(target_endian = "big"),
        _ => return None,
    };
    let prefix = if size == 1 { '|' } else { '<' };
    Some((format!("{prefix}{kind}{size}"), size, big && size > 1))
}

/// Reorders column-major elements to row-major.
fn fortran_to_c(data: &[u8], shape: &[usize], item: usize) -> Vec<u8> {
    let numel = data.len() / item;
    // Fortran strides in elements: axis 0 varies fastest.
    let mut fstride = vec![1usize; shape.len()];
    for k in 1..shape.len() {
        fstride[k] = fstride[k - 1] * shape[k - 1];
    }
    let mut out = Vec::with_capacity(data.len());
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..numel {
        let off: usize = idx.iter().zip(&fstride).map(|(i, s)| i * s).sum();
        out.extend_from_slice(&data[off * item..(off + 1) * item]);
        // Odometer over the C-order index, last axis fastest.
        for k in (0..shape.len()).rev() {
            idx[k] += 1;
            if idx[k] < shape[k] {
                break;
            }
            idx[k] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_numpy_layout() {
        let a = NpyArray::from_f32(vec![2, 3], &[0.0; 6]);
        let bytes = a.to_npy_bytes();
        let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
        assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
        assert!(header.ends_with('\n'));
        assert_eq!(NpyArray::from_npy_bytes(&bytes, "f", "k").unwrap(), a);
    }

    #[test]
    fn fortran_and_big_endian_are_normalised() {
        // 2×3 matrix [[1,2,3],[4,5,6]] stored column-major, big-endian f4.
        let col_major = [1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0];
        let mut body = Vec::new();
        col_major
            .iter()
            .for_each(|v| body.extend_from_slice(&v.to_be_bytes()));
        let header = "{'descr': '>f4', 'fortran_order': True, 'shape': (2, 3), }\n";
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&body);
        let a = NpyArray::from_npy_bytes(&bytes, "f", "k").unwrap();
        assert_eq!(a.to_f32("f", "k").unwrap(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn truncated_body_is_an_error() {
        let bytes = NpyArray::from_f32(vec![4], &[1.0; 4]).to_npy_bytes();
        let err = NpyArray::from_npy_bytes(&bytes[..bytes.len() - 1], "a.npz", "rewards");
        let msg = err.unwrap_err().to_string();
        assert!(msg.contains("a.npz") && msg.contains("rewards"), "{msg}");
    }
}
