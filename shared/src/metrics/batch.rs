//! The batch: what was recorded since the last flush, counters summed and distributions kept
//! value by value, each datum under its metric and dimension values.

use super::declared::Metric;

/// The most values one distribution keeps between flushes: one EMF document's limit. An
/// invocation records far fewer (a few per remote call); the cap bounds memory when nothing
/// flushes.
pub const MAX_VALUES: usize = 100;

pub(super) const MAX_DIMENSIONS: usize = 3;

#[derive(Clone, Debug)]
pub(super) enum Data {
    Count(u64),
    Values(Vec<f64>),
}

#[derive(Clone, Debug)]
pub(super) struct Datum {
    pub(super) metric: &'static Metric,
    /// Values of `metric.dimensions`, in order.
    values: [&'static str; MAX_DIMENSIONS],
    pub(super) data: Data,
}

impl Datum {
    pub(super) fn dimensions(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.metric
            .dimensions
            .iter()
            .copied()
            .zip(self.values.iter().copied())
    }
}

/// What was recorded since the last flush.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub(super) data: Vec<Datum>,
}

impl Batch {
    pub(super) fn add(&mut self, metric: &'static Metric, dims: &[&'static str], add: Add) {
        debug_assert_eq!(dims.len(), metric.dimensions.len(), "{}", metric.name);
        let mut values = [""; MAX_DIMENSIONS];
        for (slot, value) in values.iter_mut().zip(dims) {
            *slot = value;
        }
        let found = self
            .data
            .iter_mut()
            .find(|d| std::ptr::eq(d.metric, metric) && d.values == values);
        match (found, add) {
            (
                Some(Datum {
                    data: Data::Count(n),
                    ..
                }),
                Add::Count(m),
            ) => *n = n.saturating_add(m),
            (
                Some(Datum {
                    data: Data::Values(v),
                    ..
                }),
                Add::Value(x),
            ) => {
                if v.len() < MAX_VALUES {
                    v.push(x);
                }
            }
            (Some(_), _) => debug_assert!(false, "{} recorded as the wrong kind", metric.name),
            (None, add) => self.data.push(Datum {
                metric,
                values,
                data: match add {
                    Add::Count(n) => Data::Count(n),
                    Add::Value(x) => Data::Values(vec![x]),
                },
            }),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The count recorded for `metric` with these dimension values (0 if none).
    pub fn count(&self, metric: &Metric, dims: &[&str]) -> u64 {
        self.find(metric, dims).map_or(0, |d| match &d.data {
            Data::Count(n) => *n,
            Data::Values(v) => v.len() as u64,
        })
    }

    /// The values recorded for `metric` with these dimension values.
    pub fn values(&self, metric: &Metric, dims: &[&str]) -> Vec<f64> {
        self.find(metric, dims)
            .map_or_else(Vec::new, |d| match &d.data {
                Data::Count(n) => vec![*n as f64],
                Data::Values(v) => v.clone(),
            })
    }

    fn find(&self, metric: &Metric, dims: &[&str]) -> Option<&Datum> {
        self.data
            .iter()
            .find(|d| d.metric.name == metric.name && d.values[..dims.len()] == *dims)
    }
}

pub(super) enum Add {
    Count(u64),
    Value(f64),
}
