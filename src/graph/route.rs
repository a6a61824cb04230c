//! Edge routing for the SVG flow: an edge leaves its source's bottom,
//! crosses the gap below that row as a curve, runs down a free lane beside
//! the boxes of the rows it passes, and curves into its target's top; edge
//! labels go where no box and no other label is. Integer geometry, edges
//! routed in order: the same graph gives the same drawing.

/// A point.
pub(super) type Pt = (i64, i64);

/// A node's box.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Rect {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
}

impl Rect {
    fn right(&self) -> i64 {
        self.x + self.w
    }

    fn bottom(&self) -> i64 {
        self.y + self.h
    }

    fn overlaps(&self, o: &Rect) -> bool {
        self.x < o.right() && o.x < self.right() && self.y < o.bottom() && o.y < self.bottom()
    }

    fn grown(&self, by: i64) -> Rect {
        Rect {
            x: self.x - by,
            y: self.y - by,
            w: self.w + 2 * by,
            h: self.h + 2 * by,
        }
    }
}

/// One piece of an edge's path, from where the previous one ended.
#[derive(Clone, Copy, Debug)]
pub(super) enum Piece {
    /// A straight line to the point.
    Line(Pt),
    /// A cubic curve: two control points, then its end.
    Curve(Pt, Pt, Pt),
}

/// An edge's path.
#[derive(Clone, Debug)]
pub(super) struct Path {
    pub start: Pt,
    pub pieces: Vec<Piece>,
}

impl Path {
    /// Every point the path names, control points included.
    pub fn points(&self) -> impl Iterator<Item = Pt> + '_ {
        std::iter::once(self.start).chain(self.pieces.iter().flat_map(|p| match *p {
            Piece::Line(a) => vec![a],
            Piece::Curve(a, b, c) => vec![a, b, c],
        }))
    }

    /// Points along the path, about `step` apart.
    fn samples(&self, step: i64) -> Vec<Pt> {
        let mut out = Vec::new();
        let mut at = self.start;
        for piece in &self.pieces {
            let (end, controls) = match *piece {
                Piece::Line(e) => (e, None),
                Piece::Curve(a, b, e) => (e, Some((a, b))),
            };
            let len = (end.0 - at.0).abs() + (end.1 - at.1).abs();
            let n = (len / step).max(1);
            for i in 1..=n {
                let t = i as f64 / n as f64;
                let p = match controls {
                    None => lerp(at, end, t),
                    Some((a, b)) => bezier([at, a, b, end], t),
                };
                out.push((p.0.round() as i64, p.1.round() as i64));
            }
            at = end;
        }
        out
    }
}

fn lerp(a: Pt, b: Pt, t: f64) -> (f64, f64) {
    (
        a.0 as f64 + (b.0 - a.0) as f64 * t,
        a.1 as f64 + (b.1 - a.1) as f64 * t,
    )
}

fn bezier(p: [Pt; 4], t: f64) -> (f64, f64) {
    let u = 1.0 - t;
    let w = [u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t];
    let mut out = (0.0, 0.0);
    for (q, w) in p.iter().zip(w) {
        out.0 += q.0 as f64 * w;
        out.1 += q.1 as f64 * w;
    }
    out
}

/// How far a lane keeps from a box.
const BOX_MARGIN: i64 = 8;
/// How far two lanes that run side by side keep apart.
const LANE_GAP: i64 = 7;
/// A label's text: about 6 pixels a character (10px font), 9 above the
/// baseline and 2 below.
const LABEL_CHAR_W: i64 = 6;
const LABEL_ASCENT: i64 = 9;
const LABEL_DESCENT: i64 = 2;
/// How far a label keeps from boxes and other labels.
const LABEL_MARGIN: i64 = 2;

/// The height of the strips [`Strips`] files rectangles under.
const STRIP: i64 = 64;

/// Rectangles filed under each horizontal strip of [`STRIP`] pixels they
/// touch, so that what overlaps a small rectangle is found among its
/// neighbours only, not among every box of a long flow.
#[derive(Default)]
struct Strips(std::collections::BTreeMap<i64, Vec<Rect>>);

impl Strips {
    fn strips(r: &Rect) -> std::ops::RangeInclusive<i64> {
        r.y.div_euclid(STRIP)..=r.bottom().div_euclid(STRIP)
    }

    fn insert(&mut self, r: Rect) {
        for strip in Self::strips(&r) {
            self.0.entry(strip).or_default().push(r);
        }
    }

    fn overlaps(&self, r: &Rect) -> bool {
        Self::strips(r).any(|strip| {
            self.0
                .get(&strip)
                .is_some_and(|rs| rs.iter().any(|o| o.overlaps(r)))
        })
    }
}

/// Routes edges and places labels among the placed boxes.
pub(super) struct Router<'a> {
    boxes: &'a [Rect],
    rank: &'a [usize],
    /// The boxes of each row, by index.
    rows: Vec<Vec<usize>>,
    /// Each row's top and bottom.
    bands: &'a [(i64, i64)],
    /// The boxes, filed by strip.
    box_strips: Strips,
    /// The right edge of the rightmost box.
    right: i64,
    /// Lanes taken so far: x, top, bottom.
    lanes: Vec<(i64, i64, i64)>,
    /// Labels placed so far, in order and filed by strip.
    labels: Vec<Rect>,
    label_strips: Strips,
}

impl<'a> Router<'a> {
    /// A router over boxes placed in rows (`rank` gives each box's row).
    pub fn new(boxes: &'a [Rect], rank: &'a [usize], bands: &'a [(i64, i64)]) -> Self {
        let mut rows = vec![Vec::new(); bands.len()];
        let mut box_strips = Strips::default();
        for (i, (b, r)) in boxes.iter().zip(rank).enumerate() {
            if let Some(row) = rows.get_mut(*r) {
                row.push(i);
            }
            box_strips.insert(*b);
        }
        Router {
            boxes,
            rank,
            rows,
            bands,
            box_strips,
            right: boxes.iter().map(Rect::right).max().unwrap_or(0),
            lanes: Vec::new(),
            labels: Vec::new(),
            label_strips: Strips::default(),
        }
    }

    /// The path of an edge from box `from` to box `to`, `shift` pixels
    /// right of their centres.
    pub fn route(&mut self, from: usize, to: usize, shift: i64) -> Path {
        let (a, b) = (self.boxes[from], self.boxes[to]);
        let (ra, rb) = (self.rank[from], self.rank[to]);
        let (sx, ex) = (a.x + a.w / 2 + shift, b.x + b.w / 2 + shift);
        let below = self.bands[ra].1;
        let above = self.bands[rb].0;
        let mut pieces = Vec::new();
        if below > a.bottom() {
            pieces.push(Piece::Line((sx, below)));
        }
        if rb == ra + 1 {
            pieces.push(s_curve((sx, below), (ex, above)));
        } else {
            // The rows the lane passes, and where it starts and ends.
            let (rows, top, bottom) = if rb > ra {
                (ra + 1..rb, self.bands[ra + 1].0, self.bands[rb - 1].1)
            } else {
                // Never drawn (edges point forward), but routed all the same.
                let half = (self.bands[rb].0 - self.bands[rb.saturating_sub(1)].1).max(2) / 2;
                (rb..ra + 1, below + half, above - half)
            };
            let lane = self.lane(rows, top.min(bottom), top.max(bottom), (sx + ex) / 2);
            self.lanes.push((lane, top.min(bottom), top.max(bottom)));
            pieces.push(s_curve((sx, below), (lane, top)));
            pieces.push(Piece::Line((lane, bottom)));
            pieces.push(s_curve((lane, bottom), (ex, above)));
        }
        if above < b.y {
            pieces.push(Piece::Line((ex, b.y)));
        }
        Path {
            start: (sx, a.bottom()),
            pieces,
        }
    }

    /// The x nearest `ideal` where a lane from `top` to `bottom` through
    /// `rows` meets no box and keeps apart from the lanes beside it.
    fn lane(&self, rows: std::ops::Range<usize>, top: i64, bottom: i64, ideal: i64) -> i64 {
        let mut blocked: Vec<(i64, i64)> = rows
            .filter_map(|r| self.rows.get(r))
            .flatten()
            .map(|&i| self.boxes[i])
            .map(|b| (b.x - BOX_MARGIN, b.right() + BOX_MARGIN))
            .chain(
                self.lanes
                    .iter()
                    .filter(|(_, t, b)| *t < bottom && top < *b)
                    .map(|(x, _, _)| (x - LANE_GAP, x + LANE_GAP)),
            )
            .collect();
        blocked.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::new();
        for (lo, hi) in blocked {
            match merged.last_mut() {
                Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        match merged.iter().find(|(lo, hi)| *lo < ideal && ideal < *hi) {
            // On a tie, the right: labels read to the right of their edge.
            Some((lo, hi)) if ideal - lo < hi - ideal => *lo,
            Some((_, hi)) => *hi,
            None => ideal,
        }
    }

    /// Where the label of the edge along `path` goes: its left end and
    /// baseline, beside the path as near its start as there is room.
    pub fn label(&mut self, path: &Path, chars: usize) -> Pt {
        let w = chars as i64 * LABEL_CHAR_W;
        let spot = |x: i64, y: i64| Rect {
            x,
            y: y - LABEL_ASCENT,
            w,
            h: LABEL_ASCENT + LABEL_DESCENT,
        };
        let start = path.start;
        // The side the edge heads for first: labels of edges that fork
        // apart stay apart.
        let leftward = path
            .points()
            .find(|p| (p.0 - start.0).abs() > 2)
            .is_some_and(|p| p.0 < start.0);
        let candidates = path
            .samples(4)
            .into_iter()
            .filter(|p| p.1 >= start.1 + LABEL_ASCENT)
            .flat_map(|(x, y)| {
                let (right, left) = ((x + 4, y + 3), (x - 4 - w, y + 3));
                if leftward {
                    [left, right]
                } else {
                    [right, left]
                }
            });
        let found = candidates
            .map(|(x, y)| (x, y, spot(x, y)))
            .find(|(_, _, r)| self.free(r));
        let (x, y, rect) = found.unwrap_or_else(|| {
            // Right of every box, below the source, under earlier labels.
            let x = self.right + 6;
            let mut y = start.1 + LABEL_ASCENT + 3;
            while !self.free(&spot(x, y)) {
                y += LABEL_ASCENT + LABEL_DESCENT;
            }
            (x, y, spot(x, y))
        });
        self.labels.push(rect);
        self.label_strips.insert(rect);
        (x, y)
    }

    fn free(&self, r: &Rect) -> bool {
        let grown = r.grown(LABEL_MARGIN);
        !self.box_strips.overlaps(&grown) && !self.label_strips.overlaps(&grown)
    }

    /// The labels placed, as boxes.
    pub fn label_boxes(&self) -> &[Rect] {
        &self.labels
    }
}

/// A curve from `a` down (or up) to `b` that leaves and arrives vertically,
/// staying between their heights.
fn s_curve(a: Pt, b: Pt) -> Piece {
    let mid = (a.1 + b.1) / 2;
    Piece::Curve((a.0, mid), (b.0, mid), b)
}

#[cfg(test)]
mod tests {
    use super::{Piece, Rect, Router};

    fn rect(x: i64, y: i64) -> Rect {
        Rect { x, y, w: 40, h: 20 }
    }

    #[test]
    fn a_long_edge_runs_beside_the_box_between() {
        let boxes = [rect(0, 0), rect(0, 60), rect(0, 120)];
        let bands = [(0, 20), (60, 80), (120, 140)];
        let mut router = Router::new(&boxes, &[0, 1, 2], &bands);
        let path = router.route(0, 2, 0);
        let lanes: Vec<i64> = path
            .pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Line((x, _)) => Some(*x),
                Piece::Curve(..) => None,
            })
            .collect();
        assert_eq!(lanes, [48], "right of the middle box, by the margin");
        // A second one keeps apart from the first: now nearer on the left.
        let second = router.route(0, 2, 0);
        assert!(second.points().any(|p| p.0 == -8), "{second:?}");
    }

    #[test]
    fn labels_do_not_stack_on_each_other() {
        let boxes = [rect(0, 0), rect(0, 60)];
        let bands = [(0, 20), (60, 80)];
        let mut router = Router::new(&boxes, &[0, 1], &bands);
        let path = router.route(0, 1, 0);
        let first = router.label(&path, 5);
        let second = router.label(&path, 5);
        assert_ne!(first, second);
        let [a, b] = router.label_boxes() else {
            panic!("two labels")
        };
        assert!(!a.overlaps(b));
    }
}
