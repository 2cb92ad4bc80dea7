//! Deterministic parallel gzip, in the style of pigz.
//!
//! The input is cut into fixed blocks of [`BLOCK_SIZE`]; each block is raw-deflated on its own,
//! primed with the 32 KiB before it as a preset dictionary, and ended with a sync flush (the
//! last one with a final block). The concatenation is one valid deflate stream inside one gzip
//! member, and its CRC-32 is combined from the blocks' CRCs. Because every block's bytes depend
//! only on (dictionary, block, level), the output is identical for any number of threads.
//! Compressed bytes still depend on the zlib-rs version, which Cargo.lock pins.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};

use flate2::{Compress, FlushCompress, Status};
use serde::Serialize;

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
    /// The gzip level, 0–9 (default 6, gzip's own default). Part of every layer digest.
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
            done.push((i, compress_block(level, data, i, blocks)?));
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
    let blocks: Vec<Block> = numbered.into_iter().map(|(_, b)| b).collect();
    let body: usize = blocks.iter().map(|b| b.deflated.len()).sum();
    let mut out = Vec::with_capacity(HEADER.len() + body + 8);
    out.extend_from_slice(&HEADER);
    let mut crc = flate2::Crc::new();
    for block in &blocks {
        out.extend_from_slice(&block.deflated);
        crc.combine(&block.crc);
    }
    out.extend_from_slice(&crc.sum().to_le_bytes());
    // ISIZE is the input length modulo 2^32, as RFC 1952 says.
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    Ok(out)
}

struct Block {
    deflated: Vec<u8>,
    crc: flate2::Crc,
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
    let mut crc = flate2::Crc::new();
    crc.update(input);
    Ok(Block { deflated: out, crc })
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
