//! Helm's record encoding: `data.release` = base64(gzip(JSON)). Decoding
//! also accepts records without gzip (Helm reads both). Records that would
//! not fit a Secret (1 MiB) are slimmed: the stored chart loses its
//! templates and files (metadata, default values and schema stay).

use std::io::{Read, Write};

use base64::Engine;

use super::record::Release;

/// The API server's limit on a Secret's data (1 MiB), less room for the
/// object's metadata.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024 - 16 * 1024;

/// The gzip magic bytes Helm checks for.
const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

/// A record that could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// JSON (de)serialisation failed.
    #[error("release record JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The data is not base64.
    #[error("release record is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// gzip failed.
    #[error("release record gzip: {0}")]
    Gzip(#[from] std::io::Error),
    /// Even without the chart's templates and files the record is too big.
    #[error(
        "release record of {name} v{version} is {size} bytes even without the chart's templates and files (limit {MAX_RECORD_BYTES})"
    )]
    TooLarge {
        /// Release name.
        name: String,
        /// Revision.
        version: i64,
        /// Encoded size.
        size: usize,
    },
}

/// base64(gzip(JSON)) of `rel`, as Helm's `encodeRelease`.
pub fn encode(rel: &Release) -> Result<String, CodecError> {
    let json = serde_json::to_vec(rel)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&json)?;
    let zipped = gz.finish()?;
    Ok(base64::engine::general_purpose::STANDARD.encode(zipped))
}

/// Encodes `rel`, dropping the stored chart's templates and files when the
/// full record would exceed [`MAX_RECORD_BYTES`]. Returns the data and
/// whether the chart was slimmed.
pub fn encode_fitting(rel: &Release) -> Result<(String, bool), CodecError> {
    let data = encode(rel)?;
    if data.len() <= MAX_RECORD_BYTES {
        return Ok((data, false));
    }
    let mut slim = rel.clone();
    if let Some(chart) = slim.chart.as_mut() {
        chart.templates.clear();
        chart.files.clear();
    }
    let data = encode(&slim)?;
    if data.len() <= MAX_RECORD_BYTES {
        return Ok((data, true));
    }
    Err(CodecError::TooLarge {
        name: rel.name.clone(),
        version: rel.version,
        size: data.len(),
    })
}

/// Helm's `decodeRelease`: base64, then gunzip when gzip-compressed.
pub fn decode(data: &[u8]) -> Result<Release, CodecError> {
    let raw = unbase64(data)?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(serde_json::from_slice(&raw)?);
    }
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(raw.as_slice()).read_to_end(&mut json)?;
    Ok(serde_json::from_slice(&json)?)
}

/// A record's `data.release` without its base64.
fn unbase64(data: &[u8]) -> Result<Vec<u8>, CodecError> {
    Ok(base64::engine::general_purpose::STANDARD.decode(data.trim_ascii())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::record::{ChartFile, ChartRecord, Info, Status};

    fn release(big: usize) -> Release {
        let mut chart = ChartRecord::default();
        chart.metadata.insert("name".into(), "c".into());
        // Incompressible data so the size survives gzip.
        let mut x: u64 = 88172645463325252;
        let noise: Vec<u8> = (0..big)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x & 0xff) as u8
            })
            .collect();
        chart.templates.push(ChartFile {
            name: "templates/big.yaml".into(),
            data: base64::engine::general_purpose::STANDARD.encode(noise),
            extra: Default::default(),
        });
        Release {
            name: "r".into(),
            info: Info {
                first_deployed: String::new(),
                last_deployed: String::new(),
                deleted: String::new(),
                description: "Install complete".into(),
                status: Status::Deployed,
                notes: String::new(),
                extra: Default::default(),
            },
            chart: Some(chart),
            config: Default::default(),
            manifest: "---\n# Source: c/templates/a.yaml\na: 1\n".into(),
            hooks: Vec::new(),
            version: 1,
            namespace: "ns".into(),
            apply_method: "ssa".into(),
            extra: Default::default(),
        }
    }

    #[test]
    fn round_trips_gzip_and_plain() {
        let rel = release(10);
        let data = encode(&rel).expect("encode");
        assert_eq!(decode(data.as_bytes()).expect("decode"), rel);
        let plain = base64::engine::general_purpose::STANDARD
            .encode(serde_json::to_vec(&rel).expect("json"));
        assert_eq!(decode(plain.as_bytes()).expect("decode plain"), rel);
    }

    #[test]
    fn big_records_drop_templates() {
        let rel = release(2 * 1024 * 1024);
        let (data, slimmed) = encode_fitting(&rel).expect("fits");
        assert!(slimmed);
        let back = decode(data.as_bytes()).expect("decode");
        assert_eq!(back.manifest, rel.manifest);
        assert!(back.chart.expect("chart").templates.is_empty());
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(decode(b"!!!").is_err());
        let not_json = base64::engine::general_purpose::STANDARD.encode("nope");
        assert!(decode(not_json.as_bytes()).is_err());
    }
}
