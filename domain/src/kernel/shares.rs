//! Shares of a whole shown as whole percentages, which must add up to 100.

/// Each part's share of their sum, in whole percent, adding up to exactly
/// 100 (the largest remainder method): every share is first rounded down,
/// then the points still missing go one each to the parts with the largest
/// remainders (on a tie, the earlier part). Negative parts count as zero.
/// `None` when the parts sum to zero: there is no whole to share.
pub fn whole_percentages(parts: &[i64]) -> Option<Vec<i64>> {
    let values: Vec<i128> = parts.iter().map(|p| i128::from((*p).max(0))).collect();
    let total: i128 = values.iter().sum();
    if total == 0 {
        return None;
    }
    let mut shares: Vec<i128> = values.iter().map(|v| v * 100 / total).collect();
    let mut by_remainder: Vec<(usize, i128)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (i, v * 100 % total))
        .collect();
    // Largest remainder first; the sort is stable, so ties keep their order.
    by_remainder.sort_by_key(|(_, remainder)| std::cmp::Reverse(*remainder));
    let missing = 100 - shares.iter().sum::<i128>();
    for (i, _) in by_remainder
        .into_iter()
        .take(usize::try_from(missing).unwrap_or(0))
    {
        shares[i] += 1;
    }
    Some(
        shares
            .into_iter()
            .map(|s| i64::try_from(s).unwrap_or(100))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_thirds_add_up_to_100() {
        // Rounded down each would be 33 + 33 + 33 = 99.
        assert_eq!(whole_percentages(&[1, 1, 1]), Some(vec![34, 33, 33]));
        assert_eq!(whole_percentages(&[2, 1, 1, 1]), Some(vec![40, 20, 20, 20]));
    }

    #[test]
    fn the_largest_remainders_get_the_missing_points() {
        // 250000/350000 = 71.43 %, 80000/350000 = 22.86 %, 20000/350000 = 5.71 %.
        assert_eq!(
            whole_percentages(&[250_000, 80_000, 20_000]),
            Some(vec![71, 23, 6])
        );
        // 66.67 / 16.67 / 16.67: the biggest remainder is tied, the earlier wins.
        assert_eq!(whole_percentages(&[4, 1, 1]), Some(vec![67, 17, 16]));
        // Exact shares are left alone.
        assert_eq!(whole_percentages(&[3, 1]), Some(vec![75, 25]));
        assert_eq!(whole_percentages(&[5]), Some(vec![100]));
    }

    #[test]
    fn shares_always_add_up_to_100() {
        let cases: [&[i64]; 5] = [
            &[1, 2, 3, 4, 5, 6, 7],
            &[999_999, 1, 1],
            &[i64::MAX, i64::MAX, 1],
            &[7; 13],
            &[123_456, 0, 654_321, 111],
        ];
        for parts in cases {
            let shares = whole_percentages(parts).expect("shares");
            assert_eq!(shares.iter().sum::<i64>(), 100, "{parts:?}: {shares:?}");
            assert!(shares.iter().all(|s| (0..=100).contains(s)), "{shares:?}");
        }
    }

    #[test]
    fn nothing_to_share() {
        assert_eq!(whole_percentages(&[]), None);
        assert_eq!(whole_percentages(&[0, 0]), None);
        assert_eq!(whole_percentages(&[-5, 0]), None);
        assert_eq!(whole_percentages(&[-5, 10]), Some(vec![0, 100]));
    }
}
