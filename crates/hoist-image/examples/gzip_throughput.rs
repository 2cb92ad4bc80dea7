//! Measures layer gzip throughput on a file (e.g. a Go binary), per level and thread count.
//!
//! `cargo run --release -p hoist-image --example gzip_throughput -- PATH`

use std::io::Write;
use std::num::NonZeroUsize;
use std::time::Instant;

use hoist_image::{Compression, gzip};

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: gzip_throughput PATH");
    let data = std::fs::read(&path).expect("readable input");
    let mb = data.len() as f64 / 1e6;
    println!("input {path}: {mb:.1} MB");
    let max = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    for level in [1, 3, 4, 5, 6] {
        for threads in [1, max] {
            let c = Compression {
                level,
                threads: NonZeroUsize::new(threads),
            };
            let start = Instant::now();
            let out = gzip(&data, &c).expect("compresses");
            let secs = start.elapsed().as_secs_f64();
            println!(
                "hoist level {level} threads {threads}: {:.0} MB/s, ratio {:.3}",
                mb / secs,
                out.len() as f64 / data.len() as f64
            );
        }
        let start = Instant::now();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
        enc.write_all(&data).expect("in memory");
        let out = enc.finish().expect("in memory");
        let secs = start.elapsed().as_secs_f64();
        println!(
            "flate2 GzEncoder level {level}: {:.0} MB/s, ratio {:.3}",
            mb / secs,
            out.len() as f64 / data.len() as f64
        );
    }
}
