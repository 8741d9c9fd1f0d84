//! Shared pieces of the hardening tools: a small deterministic generator for
//! adversarial bytes and readers for the process figures in `/proc`.
#![forbid(unsafe_code)]

use std::fs;

/// xorshift64* generator: deterministic, seedable, fast enough to produce
/// gigabytes of noise.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced by a fixed odd constant).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let r = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
    }
}

/// A `kB` field of `/proc/<pid>/status`, in bytes.
pub fn proc_status_kb(pid: &str, field: &str) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// Peak resident set size of this process (`VmHWM`), in bytes.
pub fn peak_rss() -> u64 {
    proc_status_kb("self", "VmHWM").unwrap_or(0)
}

/// Current resident set size of process `pid` (`VmRSS`), in bytes.
pub fn rss_of(pid: u32) -> u64 {
    proc_status_kb(&pid.to_string(), "VmRSS").unwrap_or(0)
}

/// Number of open file descriptors of process `pid` (`/proc/<pid>/fd`).
pub fn fd_count(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// `bytes` as MiB with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_fills_odd_lengths() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let (mut x, mut y) = ([0u8; 13], [0u8; 13]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        assert_ne!(x, [0u8; 13]);
        assert!(a.below(10) < 10);
    }

    #[test]
    fn proc_figures_are_read() {
        assert!(peak_rss() > 0);
        assert!(rss_of(std::process::id()) > 0);
        assert!(fd_count(std::process::id()) >= 3);
        assert_eq!(mib(3 * 1024 * 1024 / 2), "1.5 MiB");
    }
}
