//! Helpers shared by Hindsight's tests and benchmarks, so that every figure is computed and printed the same way:
//! [`Latencies`] (percentiles of measured durations), [`ms`] and [`ratio`] for printing them beside their
//! baseline, [`env`] for CI and the Pravega test server, [`process`] for servers and writers run as child processes, and, with the `gst` feature, [`pipeline`] helpers to run a GStreamer pipeline to its end.
//!
//! A dev-dependency only; not published.

use std::time::Duration;

pub mod env;
#[cfg(feature = "gst")]
pub mod pipeline;
pub mod process;

/// Measured durations, sorted once, for percentiles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Latencies {
    sorted: Vec<Duration>,
}

impl Latencies {
    /// Collects and sorts the samples.
    pub fn new(samples: impl IntoIterator<Item = Duration>) -> Self {
        let mut sorted: Vec<Duration> = samples.into_iter().collect();
        sorted.sort_unstable();
        Latencies { sorted }
    }

    /// The `p` quantile (0.0..=1.0) by nearest rank; zero when there are no samples.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.sorted.len() - 1) as f64 * p.clamp(0.0, 1.0)).round() as usize;
        self.sorted[i.min(self.sorted.len() - 1)]
    }

    /// The median.
    pub fn p50(&self) -> Duration {
        self.percentile(0.5)
    }

    /// The 95th percentile.
    pub fn p95(&self) -> Duration {
        self.percentile(0.95)
    }

    /// The 99th percentile.
    pub fn p99(&self) -> Duration {
        self.percentile(0.99)
    }

    /// The largest sample.
    pub fn max(&self) -> Duration {
        self.sorted.last().copied().unwrap_or_default()
    }

    /// How many samples.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// `p50 … p95 … p99 … max …` on one line.
    pub fn summary(&self) -> String {
        format!(
            "p50 {}  p95 {}  p99 {}  max {}",
            ms(self.p50()),
            ms(self.p95()),
            ms(self.p99()),
            ms(self.max())
        )
    }
}

/// A duration in milliseconds for printing, with three decimals (`0.271 ms`).
pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// `a / b`, for "this many times the baseline" (a zero baseline counts as 1 ns).
pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let l = Latencies::new((1..=100).rev().map(Duration::from_millis));
        assert_eq!(l.p50(), Duration::from_millis(51));
        assert_eq!(l.p99(), Duration::from_millis(99));
        assert_eq!(l.percentile(0.0), Duration::from_millis(1));
        assert_eq!(l.max(), Duration::from_millis(100));
        assert_eq!(l.len(), 100);
        assert_eq!(Latencies::default().p99(), Duration::ZERO);
        assert_eq!(ms(Duration::from_micros(271)), "0.271 ms");
        assert!((ratio(Duration::from_millis(3), Duration::from_millis(2)) - 1.5).abs() < 1e-9);
    }
}
