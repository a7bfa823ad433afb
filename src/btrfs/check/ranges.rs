//! Half-open byte ranges `[start, end)` as sorted, merged `Vec`s: the compact state the csum and
//! free-space families compare at the end of the walk.

/// A half-open range `[start, end)`.
pub type Range = (u64, u64);

/// Sorts the ranges and merges the overlapping and touching ones; drops empty ones.
pub fn merge(v: &mut Vec<Range>) {
    v.retain(|r| r.0 < r.1);
    v.sort_unstable();
    let mut out: usize = 0;
    for i in 0..v.len() {
        let r = v[i];
        if out > 0 && r.0 <= v[out - 1].1 {
            v[out - 1].1 = v[out - 1].1.max(r.1);
        } else {
            v[out] = r;
            out += 1;
        }
    }
    v.truncate(out);
}

/// `a − b` for merged, sorted inputs.
pub fn subtract(a: &[Range], b: &[Range]) -> Vec<Range> {
    let mut out = Vec::new();
    let mut j = 0;
    for &(s, e) in a {
        let mut cur = s;
        while j < b.len() && b[j].1 <= cur {
            j += 1;
        }
        let mut k = j;
        while k < b.len() && b[k].0 < e {
            if b[k].0 > cur {
                out.push((cur, b[k].0));
            }
            cur = cur.max(b[k].1);
            if cur >= e {
                break;
            }
            k += 1;
        }
        if cur < e {
            out.push((cur, e));
        }
    }
    out
}

/// `a ∩ b` for merged, sorted inputs.
pub fn intersect(a: &[Range], b: &[Range]) -> Vec<Range> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        let s = a[i].0.max(b[j].0);
        let e = a[i].1.min(b[j].1);
        if s < e {
            out.push((s, e));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The part of merged, sorted `v` inside `[s, e)`.
pub fn clip(v: &[Range], s: u64, e: u64) -> Vec<Range> {
    let first = v.partition_point(|r| r.1 <= s);
    v[first..].iter().take_while(|r| r.0 < e).map(|r| (r.0.max(s), r.1.min(e))).filter(|r| r.0 < r.1).collect()
}

/// Splits `found` into what lies outside `holes` (merged, sorted) and how many of its ranges
/// reached into a hole, wholly or in part.
pub fn outside(found: Vec<Range>, holes: &[Range]) -> (Vec<Range>, u64) {
    if holes.is_empty() {
        return (found, 0);
    }
    let mut cut = 0;
    let mut keep = Vec::new();
    for r in found {
        let rest = subtract(&[r], holes);
        if rest != [r] {
            cut += 1;
        }
        keep.extend(rest);
    }
    (keep, cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_reaching_into_holes_are_cut_and_counted() {
        let (keep, n) = outside(vec![(0, 50), (150, 160), (180, 250)], &[(100, 200)]);
        assert_eq!(keep, vec![(0, 50), (200, 250)]);
        assert_eq!(n, 2);
        assert_eq!(outside(vec![(1, 2)], &[]), (vec![(1, 2)], 0));
    }

    #[test]
    fn ops() {
        let mut v = vec![(10, 20), (0, 5), (5, 7), (15, 30), (40, 40)];
        merge(&mut v);
        assert_eq!(v, vec![(0, 7), (10, 30)]);
        assert_eq!(subtract(&v, &[(2, 3), (6, 12), (25, 50)]), vec![(0, 2), (3, 6), (12, 25)]);
        assert_eq!(intersect(&v, &[(2, 3), (6, 12), (25, 50)]), vec![(2, 3), (6, 7), (10, 12), (25, 30)]);
        assert_eq!(clip(&v, 5, 12), vec![(5, 7), (10, 12)]);
        assert_eq!(subtract(&[(0, 10)], &[]), vec![(0, 10)]);
    }
}

