//! A line diff for tool outputs that are long lists of records: a record is a line that does not
//! start with two tabs (a block header, an item line, a tree title, a superblock field) plus the
//! body lines that follow it. Records are aligned by their head line with a bounded look-ahead,
//! and bodies by a longest common subsequence, so a missing item body shows as that body's lines
//! missing instead of every later line differing.

/// One side's line that differs, with the record it belongs to.
#[derive(Debug, Clone)]
pub struct Change {
    /// `-` expected but not printed, `+` printed but not expected.
    pub sign: char,
    /// 1-based line number on that side.
    pub line_no: usize,
    pub line: String,
    /// The head line of the record it is in.
    pub record: String,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{:>6}: {:?}   [in {:?}]", self.sign, self.line_no, self.line, self.record)
    }
}

/// The outcome of a comparison.
#[derive(Debug, Default)]
pub struct TextDiff {
    /// Lines of the expected text that were compared.
    pub compared: usize,
    pub changes: Vec<Change>,
}

struct Rec<'a> {
    head: &'a [u8],
    head_no: usize,
    body: Vec<(usize, &'a [u8])>,
}

fn records<'a>(lines: &[&'a [u8]]) -> Vec<Rec<'a>> {
    let mut v: Vec<Rec> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        match v.last_mut() {
            Some(r) if l.starts_with(b"\t\t") => r.body.push((i + 1, l)),
            _ => v.push(Rec { head: l, head_no: i + 1, body: Vec::new() }),
        }
    }
    v
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// How far ahead a missing or extra record is looked for before the two heads are called changed.
const LOOKAHEAD: usize = 64;

/// Compares `actual` against `expected`, line by line.
pub fn diff(expected: &[u8], actual: &[u8]) -> TextDiff {
    let el = super::byte_lines(expected);
    let al = super::byte_lines(actual);
    let (er, ar) = (records(&el), records(&al));
    let mut d = TextDiff { compared: el.len(), changes: Vec::new() };
    let (mut i, mut j) = (0, 0);
    let whole = |d: &mut TextDiff, r: &Rec, sign: char| {
        d.changes.push(Change { sign, line_no: r.head_no, line: text(r.head), record: text(r.head) });
        for (n, l) in &r.body {
            d.changes.push(Change { sign, line_no: *n, line: text(l), record: text(r.head) });
        }
    };
    while i < er.len() || j < ar.len() {
        match (er.get(i), ar.get(j)) {
            (Some(e), Some(a)) if e.head == a.head => {
                body_diff(&mut d, e, a);
                i += 1;
                j += 1;
            }
            (Some(e), Some(a)) => {
                if let Some(k) = (j + 1..ar.len().min(j + LOOKAHEAD)).find(|&k| ar[k].head == e.head) {
                    for r in &ar[j..k] {
                        whole(&mut d, r, '+');
                    }
                    j = k;
                } else if let Some(k) = (i + 1..er.len().min(i + LOOKAHEAD)).find(|&k| er[k].head == a.head) {
                    for r in &er[i..k] {
                        whole(&mut d, r, '-');
                    }
                    i = k;
                } else {
                    // The same record printed differently: report the heads, compare the bodies.
                    d.changes.push(Change { sign: '-', line_no: e.head_no, line: text(e.head), record: text(e.head) });
                    d.changes.push(Change { sign: '+', line_no: a.head_no, line: text(a.head), record: text(e.head) });
                    body_diff(&mut d, e, a);
                    i += 1;
                    j += 1;
                }
            }
            (Some(e), None) => {
                whole(&mut d, e, '-');
                i += 1;
            }
            (None, Some(a)) => {
                whole(&mut d, a, '+');
                j += 1;
            }
            (None, None) => break,
        }
    }
    d
}

/// Longest-common-subsequence diff of two record bodies (they are short: a few dozen lines).
fn body_diff(d: &mut TextDiff, e: &Rec, a: &Rec) {
    let (x, y) = (&e.body, &a.body);
    if x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.1 == q.1) {
        return;
    }
    let (n, m) = (x.len(), y.len());
    // lcs[i][j] = LCS length of x[i..] and y[j..]
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if x[i].1 == y[j].1 { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let head = text(e.head);
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && x[i].1 == y[j].1 {
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            d.changes.push(Change { sign: '+', line_no: y[j].0, line: text(y[j].1), record: head.clone() });
            j += 1;
        } else {
            d.changes.push(Change { sign: '-', line_no: x[i].0, line: text(x[i].1), record: head.clone() });
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_body_is_only_that_body() {
        let e = b"leaf 1\n\titem 0 key\n\t\tbody a\n\t\tbody b\n\titem 1 key\n\t\tbody c\n";
        let a = b"leaf 1\n\titem 0 key\n\titem 1 key\n\t\tbody c\n";
        let d = diff(e, a);
        assert_eq!(d.compared, 6);
        assert_eq!(d.changes.len(), 2);
        assert!(d.changes.iter().all(|c| c.sign == '-' && c.line.starts_with("\t\tbody")));
    }

    #[test]
    fn extra_and_changed_records() {
        let e = b"a\nb\nc\n";
        let a = b"a\nx\nb\nC\n";
        let d = diff(e, a);
        let signs: String = d.changes.iter().map(|c| c.sign).collect();
        assert_eq!(signs, "+-+");
        assert!(diff(e, e).changes.is_empty());
    }
}
