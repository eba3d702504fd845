//! The container of a model file: a header (JSON) naming binary sections, and a checksum.
//!
//! Layout, little-endian:
//!
//! | bytes | what |
//! |---|---|
//! | 8 | the magic `INFERRS\0` |
//! | 4 | the format version (`u32`) |
//! | 8 | the header's length `h` (`u64`) |
//! | `h` | the header, JSON: the model's metadata and the sections' names and lengths |
//! | ... | the sections, in the header's order |
//! | 4 | CRC-32 (IEEE) of every byte before it (`u32`) |
//!
//! The checksum covers the whole file, so a flipped byte anywhere, or a cut file, is an error
//! on load rather than a model that loads with damaged numbers.

use serde::{Deserialize, Serialize};

/// The first bytes of every model file.
const MAGIC: &[u8; 8] = b"INFERRS\0";
/// The version this build writes and reads.
pub(crate) const VERSION: u32 = 1;

/// A section's name and length, as the header lists it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SectionEntry {
    name: String,
    bytes: u64,
}

#[derive(Serialize, Deserialize)]
struct Envelope<H> {
    sections: Vec<SectionEntry>,
    meta: H,
}

/// A decoded file: its metadata and its named sections.
#[derive(Debug)]
pub(crate) struct Container<H> {
    pub(crate) meta: H,
    pub(crate) sections: Vec<(String, Vec<u8>)>,
}

impl<H> Container<H> {
    /// The bytes of section `name`, if the file has it.
    pub(crate) fn section(&self, name: &str) -> Option<&[u8]> {
        self.sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    }
}

/// The bytes of a file holding `meta` and `sections`.
pub(crate) fn encode<H: Serialize>(
    meta: &H,
    sections: &[(String, Vec<u8>)],
) -> Result<Vec<u8>, String> {
    let envelope = Envelope {
        sections: sections
            .iter()
            .map(|(name, b)| SectionEntry {
                name: name.clone(),
                bytes: b.len() as u64,
            })
            .collect(),
        meta,
    };
    let header = serde_json::to_vec(&envelope).map_err(|e| e.to_string())?;
    let body: usize = sections.iter().map(|(_, b)| b.len()).sum();
    let mut out = Vec::with_capacity(24 + header.len() + body);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    for (_, b) in sections {
        out.extend_from_slice(b);
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Decodes `bytes`, checking the magic, the version, the checksum and the sections' lengths.
pub(crate) fn decode<H: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<Container<H>, String> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(
            "it is not an inferrs model file (no `INFERRS` magic at its start; \
                    files of `Model::save` before format 1 held burn parameters only)"
                .to_string(),
        );
    }
    if bytes.len() < 24 {
        return Err(format!("it is cut short ({} bytes)", bytes.len()));
    }
    let (payload, trailer) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes(trailer.try_into().map_err(|_| "no checksum")?);
    let computed = crc32fast::hash(payload);
    if stored != computed {
        return Err(format!(
            "its checksum does not match (stored {stored:#010x}, computed {computed:#010x}): \
             the file is damaged or cut short"
        ));
    }
    let version = u32::from_le_bytes(payload[8..12].try_into().map_err(|_| "no version")?);
    if version != VERSION {
        return Err(format!(
            "it has format version {version}; this build reads version {VERSION}"
        ));
    }
    let header_len = u64::from_le_bytes(payload[12..20].try_into().map_err(|_| "no header")?);
    let header_end = usize::try_from(header_len)
        .ok()
        .and_then(|h| h.checked_add(20))
        .filter(|&end| end <= payload.len())
        .ok_or("its header length runs past the end of the file")?;
    let envelope: Envelope<H> = serde_json::from_slice(&payload[20..header_end])
        .map_err(|e| format!("its header cannot be read: {e}"))?;
    let mut at = header_end;
    let mut sections = Vec::with_capacity(envelope.sections.len());
    for entry in envelope.sections {
        let end = usize::try_from(entry.bytes)
            .ok()
            .and_then(|n| n.checked_add(at))
            .filter(|&end| end <= payload.len())
            .ok_or_else(|| format!("section `{}` runs past the end of the file", entry.name))?;
        sections.push((entry.name, payload[at..end].to_vec()));
        at = end;
    }
    if at != payload.len() {
        return Err(format!(
            "{} bytes follow the last section",
            payload.len() - at
        ));
    }
    Ok(Container {
        meta: envelope.meta,
        sections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let sections = vec![
            ("a".to_string(), vec![1, 2, 3]),
            ("b".to_string(), vec![9; 100]),
        ];
        encode(&"meta".to_string(), &sections).unwrap()
    }

    #[test]
    fn round_trips() {
        let c: Container<String> = decode(&sample()).unwrap();
        assert_eq!(c.meta, "meta");
        assert_eq!(c.section("a"), Some(&[1u8, 2, 3][..]));
        assert_eq!(c.section("b").map(<[u8]>::len), Some(100));
        assert!(c.section("c").is_none());
    }

    #[test]
    fn every_flipped_byte_and_every_cut_is_an_error() {
        let bytes = sample();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(decode::<String>(&bad).is_err(), "byte {i} flipped loads");
        }
        for len in 0..bytes.len() {
            assert!(
                decode::<String>(&bytes[..len]).is_err(),
                "cut at {len} loads"
            );
        }
    }
}
