//! Deterministic parallel gzip, in the style of pigz.
//!
//! The input is cut into fixed blocks of [`BLOCK_SIZE`]; each block is raw-deflated on its own,
//! primed with the 32 KiB before it as a preset dictionary, and ended with a sync flush (the
//! last one with a final block). The concatenation is one valid deflate stream inside one gzip
//! member, and its CRC-32 is combined from the blocks' CRCs. Because every block's bytes depend
//! only on (dictionary, block, level), the output is identical for any number of threads.
//! Compressed bytes still depend on the zlib-rs version, which Cargo.lock pins.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use flate2::{Compress, FlushCompress, Status};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::error::{ImageError, Result};

/// Bytes per independently compressed block. 128 KiB, like pigz: small enough that a 5 MB
/// binary feeds 40 blocks to the threads, large enough that the sync markers and lost matches
/// across block starts cost well under 1% of size. Changing it changes every layer digest.
pub const BLOCK_SIZE: usize = 128 * 1024;

/// The deflate window: the dictionary each block is primed with.
const DICT_SIZE: usize = 32 * 1024;

/// The gzip header: magic, deflate, no flags, mtime 0 (the tar carries the times), no extra
/// flags, OS 255 "unknown" (as Go's compress/gzip writes), so nothing of the host leaks in.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// How layers are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Compression {
    /// The gzip level, 0–9. Part of every layer digest. Default 6, gzip's own: level 5 was
    /// about 10% faster on a 28 MB Go binary but 0.1% larger, which broke our size budget (image
    /// within 300 KB of `gzip -6` of the binary); block reuse (see `Memo`) pays for the speed.
    pub level: u32,
    /// Worker threads; `None` uses all available cores. Does not change the output.
    pub threads: Option<NonZeroUsize>,
}

impl Default for Compression {
    fn default() -> Self {
        Self {
            level: 6,
            threads: None,
        }
    }
}

impl Compression {
    /// The threads to use: as configured, else the machine's available parallelism.
    pub fn thread_count(&self) -> usize {
        self.threads
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get)
    }

    /// Checks the level is one gzip knows.
    ///
    /// # Errors
    /// [`ImageError::InvalidLevel`] when above 9.
    pub fn validate(&self) -> Result<()> {
        if self.level > 9 {
            return Err(ImageError::InvalidLevel { level: self.level });
        }
        Ok(())
    }
}

/// Gzips `data` with `compression`; the result does not depend on the thread count.
///
/// # Errors
/// [`ImageError::InvalidLevel`] for a level above 9, [`ImageError::Compress`] if zlib-rs fails.
pub fn compress(data: &[u8], compression: &Compression) -> Result<Vec<u8>> {
    Ok(compress_with(data, compression, &Memo::default())?.bytes)
}

/// Compressed blocks of an earlier layer, by [`block_key`], to copy instead of recompressing.
///
/// A block's deflate bytes are a pure function of (its 32 KiB dictionary, its bytes, whether it
/// is last, the level, the compressor's code), so equal keys mean equal bytes and reusing them
/// gives exactly the output a fresh compression would. After a one-line change to a Go program,
/// a third to a half of the binary's blocks (the runtime and libraries laid out before the
/// changed code) are unchanged.
#[derive(Default)]
pub(crate) struct Memo<'a> {
    blocks: HashMap<[u8; 32], &'a [u8]>,
}

impl<'a> Memo<'a> {
    /// A memo over `blob` (a gzip layer written by [`compress_with`]) and its block list.
    pub(crate) fn new(blob: &'a [u8], refs: &[BlockRef]) -> Self {
        let blocks = refs
            .iter()
            .filter_map(|r| {
                let end = r.offset.checked_add(r.len)?;
                Some((r.key, blob.get(r.offset..end)?))
            })
            .collect();
        Self { blocks }
    }
}

/// Where one block's deflate bytes sit in a compressed layer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct BlockRef {
    /// [`block_key`] of the block.
    #[serde(with = "hex_key")]
    pub key: [u8; 32],
    /// Byte offset in the gzip blob.
    pub offset: usize,
    /// Length of the deflate bytes.
    pub len: usize,
}

mod hex_key {
    pub fn serialize<S: serde::Serializer>(k: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(k))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s: String = serde::Deserialize::deserialize(d)?;
        let mut k = [0u8; 32];
        hex::decode_to_slice(s, &mut k).map_err(serde::de::Error::custom)?;
        Ok(k)
    }
}

/// The gzip bytes, where each block landed, and how many blocks came from the memo.
pub(crate) struct Compressed {
    pub bytes: Vec<u8>,
    pub blocks: Vec<BlockRef>,
    pub reused: usize,
}

/// [`compress`], copying blocks found in `memo` instead of compressing them again.
pub(crate) fn compress_with(
    data: &[u8],
    compression: &Compression,
    memo: &Memo<'_>,
) -> Result<Compressed> {
    compression.validate()?;
    let level = flate2::Compression::new(compression.level);
    // At least one block, so empty input still gets a final deflate block.
    let blocks = data.len().div_ceil(BLOCK_SIZE).max(1);
    let threads = compression.thread_count().min(blocks);

    let next = AtomicUsize::new(0);
    // Workers take block indexes in turn; which worker compresses a block does not matter.
    let work = || -> Result<Vec<(usize, Block)>> {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= blocks {
                return Ok(done);
            }
            let key = block_key(compression.level, data, i, blocks);
            let block = match memo.blocks.get(&key) {
                Some(bytes) => Block {
                    key,
                    deflated: bytes.to_vec(),
                    crc: crc_of(block_range(data, i)),
                    reused: true,
                },
                None => compress_block(level, data, i, blocks)?,
            };
            done.push((i, Block { key, ..block }));
        }
    };
    let mut numbered = if threads <= 1 {
        work()?
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
            let mut all = Vec::with_capacity(blocks);
            for h in handles {
                all.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?);
            }
            Ok::<_, ImageError>(all)
        })?
    };
    numbered.sort_unstable_by_key(|(i, _)| *i);
    let body: usize = numbered.iter().map(|(_, b)| b.deflated.len()).sum();
    let mut out = Vec::with_capacity(HEADER.len() + body + 8);
    out.extend_from_slice(&HEADER);
    let mut crc = flate2::Crc::new();
    let mut refs = Vec::with_capacity(numbered.len());
    let mut reused = 0;
    for (_, block) in &numbered {
        refs.push(BlockRef {
            key: block.key,
            offset: out.len(),
            len: block.deflated.len(),
        });
        reused += usize::from(block.reused);
        out.extend_from_slice(&block.deflated);
        crc.combine(&block.crc);
    }
    out.extend_from_slice(&crc.sum().to_le_bytes());
    // ISIZE is the input length modulo 2^32, as RFC 1952 says.
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    Ok(Compressed {
        bytes: out,
        blocks: refs,
        reused,
    })
}

fn block_range(data: &[u8], i: usize) -> &[u8] {
    let start = i * BLOCK_SIZE;
    &data[start..(start + BLOCK_SIZE).min(data.len())]
}

fn crc_of(bytes: &[u8]) -> flate2::Crc {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc
}

/// Everything block `i`'s deflate bytes depend on, hashed: the compressor's fingerprint, the
/// level, whether it is the last block, its dictionary and its bytes.
fn block_key(level: u32, data: &[u8], i: usize, blocks: usize) -> [u8; 32] {
    let start = i * BLOCK_SIZE;
    let mut h = Sha256::new();
    h.update(compressor_fingerprint(level));
    h.update([u8::from(i + 1 == blocks)]);
    let dict = &data[start.saturating_sub(DICT_SIZE)..start];
    h.update((dict.len() as u64).to_le_bytes());
    h.update(dict);
    h.update(block_range(data, i));
    h.finalize().into()
}

/// A hash of what this build of the compressor makes of a fixed sample. It changes whenever
/// zlib-rs (or our block scheme) would produce other bytes, so blocks and layers compressed by
/// an older hoist are never reused by a newer one: reuse could otherwise make two machines
/// disagree about a digest.
pub(crate) fn compressor_fingerprint(level: u32) -> &'static [u8; 32] {
    static FINGERPRINTS: [OnceLock<[u8; 32]>; 10] = [const { OnceLock::new() }; 10];
    let slot = &FINGERPRINTS[level.min(9) as usize];
    slot.get_or_init(|| {
        let mut sample = Vec::with_capacity(48 * 1024);
        let mut x: u32 = 0x9E37_79B9;
        while sample.len() < 48 * 1024 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            // Half structure, half noise: exercises literals, matches and the lazy matcher.
            sample.extend_from_slice(format!("key{} ", x % 97).as_bytes());
            sample.extend_from_slice(&x.to_le_bytes());
        }
        let deflated = compress_block(flate2::Compression::new(level), &sample, 0, 1)
            .map(|b| b.deflated)
            .unwrap_or_default();
        let mut h = Sha256::new();
        h.update(level.to_le_bytes());
        h.update((BLOCK_SIZE as u64).to_le_bytes());
        h.update(&deflated);
        h.finalize().into()
    })
}

struct Block {
    key: [u8; 32],
    deflated: Vec<u8>,
    crc: flate2::Crc,
    reused: bool,
}

/// Compresses block `i` with a fresh compressor. A reused one (`reset()` + `set_dictionary`)
/// kept state from the block it did before under zlib-rs, so the bytes depended on which worker
/// had compressed what: different digests from run to run.
fn compress_block(
    level: flate2::Compression,
    data: &[u8],
    i: usize,
    blocks: usize,
) -> Result<Block> {
    let start = i * BLOCK_SIZE;
    let end = (start + BLOCK_SIZE).min(data.len());
    let input = &data[start..end];
    let last = i + 1 == blocks;

    let mut deflate = Compress::new(level, false);
    if start > 0 {
        let dict = &data[start.saturating_sub(DICT_SIZE)..start];
        deflate
            .set_dictionary(dict)
            .map_err(|source| ImageError::Compress { source })?;
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(input.len() + input.len() / 16 + 64);
    loop {
        let consumed = usize::try_from(deflate.total_in()).unwrap_or(usize::MAX);
        let status = deflate
            .compress_vec(&input[consumed..], &mut out, flush)
            .map_err(|source| ImageError::Compress { source })?;
        let all_in = usize::try_from(deflate.total_in()).unwrap_or(usize::MAX) == input.len();
        let done = match status {
            Status::StreamEnd => true,
            // A flush is complete once all input is in and output space was left over.
            Status::Ok | Status::BufError => !last && all_in && out.len() < out.capacity(),
        };
        if done {
            break;
        }
        out.reserve(64 * 1024);
    }
    Ok(Block {
        key: [0; 32],
        deflated: out,
        crc: crc_of(input),
        reused: false,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn sample(len: usize) -> Vec<u8> {
        // Compressible but not trivial: a counter with some text, like a binary's tables.
        let mut v = Vec::with_capacity(len);
        let mut x: u32 = 1;
        while v.len() < len {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            v.extend_from_slice(format!("entry {} value {}\n", x % 1000, x >> 20).as_bytes());
        }
        v.truncate(len);
        v
    }

    fn gunzip(gz: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn with_threads(n: usize) -> Compression {
        Compression {
            level: 6,
            threads: NonZeroUsize::new(n),
        }
    }

    #[test]
    fn thread_count_does_not_change_output() {
        for len in [0, 1, BLOCK_SIZE, BLOCK_SIZE + 1, 5 * BLOCK_SIZE + 77] {
            let data = sample(len);
            let one = compress(&data, &with_threads(1)).unwrap();
            for n in [2, 3, 8] {
                assert_eq!(
                    compress(&data, &with_threads(n)).unwrap(),
                    one,
                    "len {len}, {n} threads"
                );
            }
            assert_eq!(gunzip(&one), data, "len {len}");
        }
    }

    /// Binary-like data: long runs of repeated, shifted structure across block boundaries, where
    /// stale matcher state would show (the text sample above did not reveal it).
    fn binary_like(len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(len);
        let mut x: u64 = 7;
        while v.len() < len {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let word = (x >> 40) as u32;
            v.extend_from_slice(&word.to_le_bytes());
            if word.is_multiple_of(5) {
                let back = v.len().saturating_sub(4096 + (word as usize % 20_000));
                let chunk: Vec<u8> = v[back..(back + 300).min(v.len())].to_vec();
                v.extend_from_slice(&chunk);
            }
        }
        v.truncate(len);
        v
    }

    #[test]
    fn a_block_does_not_depend_on_the_block_compressed_before() {
        let data = binary_like(6 * BLOCK_SIZE + 999);
        let level = flate2::Compression::new(6);
        let blocks = data.len().div_ceil(BLOCK_SIZE);
        let alone = compress_block(level, &data, 3, blocks).unwrap();
        let _ = compress_block(level, &data, 5, blocks).unwrap();
        let after_other = compress_block(level, &data, 3, blocks).unwrap();
        assert_eq!(alone.deflated, after_other.deflated);
        let one = compress(&data, &with_threads(1)).unwrap();
        for _ in 0..5 {
            assert_eq!(compress(&data, &with_threads(2)).unwrap(), one);
        }
        assert_eq!(gunzip(&one), data);
    }

    #[test]
    fn every_level_round_trips() {
        let data = sample(3 * BLOCK_SIZE / 2);
        for level in 0..=9 {
            let c = Compression {
                level,
                threads: None,
            };
            assert_eq!(gunzip(&compress(&data, &c).unwrap()), data, "level {level}");
        }
        let bad = Compression {
            level: 10,
            threads: None,
        };
        assert!(matches!(
            compress(&data, &bad),
            Err(ImageError::InvalidLevel { level: 10 })
        ));
    }

    #[test]
    fn ratio_is_close_to_single_stream_gzip() {
        let data = sample(4 * BLOCK_SIZE);
        let ours = compress(&data, &with_threads(2)).unwrap();
        let mut plain = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        std::io::Write::write_all(&mut plain, &data).unwrap();
        let plain = plain.finish().unwrap();
        assert!(
            ours.len() * 100 <= plain.len() * 102,
            "{} vs {}",
            ours.len(),
            plain.len()
        );
    }
}
