//! A figure over the rounds of an item: median, min and max (issue 20 asks
//! every item for five rounds reported this way).

use crate::suite::median;

/// Median, min and max of one figure over the rounds that worked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spread {
    pub(crate) med: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) n: usize,
}

impl Spread {
    /// The spread of `v`, NaN entries dropped (NaN figures when none is left).
    pub(crate) fn of(v: impl IntoIterator<Item = f64>) -> Spread {
        let v: Vec<f64> = v.into_iter().filter(|x| !x.is_nan()).collect();
        Spread {
            med: median(v.clone()),
            min: v.iter().copied().reduce(f64::min).unwrap_or(f64::NAN),
            max: v.iter().copied().reduce(f64::max).unwrap_or(f64::NAN),
            n: v.len(),
        }
    }

    /// `"min A, max B"` with `prec` decimals.
    pub(crate) fn range(&self, prec: usize) -> String {
        format!("min {:.p$}, max {:.p$}", self.min, self.max, p = prec)
    }
}

#[cfg(test)]
mod tests {
    use super::Spread;

    #[test]
    fn the_spread_of_five_rounds_is_their_median_min_and_max_without_nan() {
        let s = Spread::of([4.0, 1.0, f64::NAN, 9.0, 2.0, 3.0]);
        assert_eq!((s.med, s.min, s.max, s.n), (3.0, 1.0, 9.0, 5));
        assert_eq!(s.range(1), "min 1.0, max 9.0");
        assert!(Spread::of([f64::NAN]).med.is_nan());
    }
}
