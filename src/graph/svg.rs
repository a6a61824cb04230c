//! The graph as an inline SVG, laid out by hand: each node goes on the row
//! after the furthest node that leads to it, rows are centred, and edges
//! are routed around the boxes between their ends (see `route`). Each
//! `parallel` group's branches sit in a light rounded cluster. No script,
//! no external resource.

use std::collections::HashMap;
use std::fmt::Write;

use super::route::{Path, Piece, Rect, Router};
use super::{EdgeKind, Graph, Shape};
use crate::output::escape_xml;

const CHAR_W: i64 = 7;
const LINE_H: i64 = 16;
const PAD: i64 = 10;
const GAP_X: i64 = 24;
const GAP_Y: i64 = 42;
const MAX_CHARS: usize = 44;
/// How far a cluster reaches beyond the boxes it holds.
const CLUSTER_PAD: i64 = 8;

/// Renders the graph as a standalone `<svg>` element (every text redacted
/// and escaped); `data-node` on each node names it.
pub fn svg(graph: &Graph) -> String {
    let entries = graph.cluster_entries();
    let nodes: Vec<_> = graph.nodes().collect();
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let resolve = |id: &str| -> Option<usize> {
        let id = entries.get(id).map_or(id, String::as_str);
        index.get(id).copied()
    };
    let edges: Vec<(usize, usize, &super::Edge)> = graph
        .edges()
        .filter_map(|e| Some((resolve(&e.from)?, resolve(&e.to)?, e)))
        .collect();
    // Rank: one more than the furthest predecessor. Edges only point
    // forward in drawing order; any that does not is left out of ranking.
    let mut rank = vec![0usize; nodes.len()];
    let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (from, to, _) in &edges {
        if from < to {
            incoming[*to].push(*from);
        }
    }
    for i in 0..nodes.len() {
        rank[i] = incoming[i].iter().map(|p| rank[*p] + 1).max().unwrap_or(0);
    }
    let lines: Vec<Vec<String>> = nodes.iter().map(|n| wrap(&n.lines)).collect();
    let size = |i: usize| -> (i64, i64) {
        let chars = lines[i]
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(1) as i64;
        let extra = if matches!(nodes[i].shape, Shape::Route | Shape::Decision) {
            4 * PAD
        } else {
            2 * PAD
        };
        (chars * CHAR_W + extra, lines[i].len() as i64 * LINE_H + PAD)
    };
    let rows = rank.iter().max().map_or(0, |r| r + 1);
    let mut row_nodes: Vec<Vec<usize>> = vec![Vec::new(); rows];
    for (i, r) in rank.iter().enumerate() {
        row_nodes[*r].push(i);
    }
    let row_width = |row: &[usize]| -> i64 {
        row.iter().map(|i| size(*i).0).sum::<i64>() + GAP_X * row.len().saturating_sub(1) as i64
    };
    let widest = row_nodes.iter().map(|r| row_width(r)).max().unwrap_or(0);
    let mut placed = vec![Rect::default(); nodes.len()];
    let mut bands = Vec::with_capacity(rows);
    let mut y = PAD;
    for row in &row_nodes {
        let mut x = PAD + (widest - row_width(row)) / 2;
        let height = row.iter().map(|i| size(*i).1).max().unwrap_or(0);
        for i in row {
            let (w, h) = size(*i);
            placed[*i] = Rect {
                x,
                y: y + (height - h) / 2,
                w,
                h,
            };
            x += w + GAP_X;
        }
        bands.push((y, y + height));
        y += height + GAP_Y;
    }
    let mut router = Router::new(&placed, &rank, &bands);
    let routed: Vec<Path> = edges
        .iter()
        .map(|(from, to, e)| {
            // Handoffs run beside the control flow they often parallel.
            let shift = if e.kind == EdgeKind::Handoff { 8 } else { 0 };
            router.route(*from, *to, shift)
        })
        .collect();
    // One node's result handed to several later steps: its label once.
    let mut named: Vec<(usize, &str)> = Vec::new();
    let mut labels: Vec<(i64, i64, &str)> = Vec::new();
    for ((from, _, e), path) in edges.iter().zip(&routed) {
        let Some(label) = e.label.as_deref() else {
            continue;
        };
        if named.contains(&(*from, label)) {
            continue;
        }
        named.push((*from, label));
        let (x, y) = router.label(path, label.chars().count());
        labels.push((x, y, label));
    }
    let clusters = clusters(&nodes, &placed);
    // Lanes and labels may reach past the rows: shift all into view.
    let xs = placed
        .iter()
        .flat_map(|p| [p.x, p.x + p.w])
        .chain(routed.iter().flat_map(|p| p.points().map(|q| q.0)))
        .chain(router.label_boxes().iter().flat_map(|l| [l.x, l.x + l.w]))
        .chain(clusters.iter().flat_map(|c| [c.x, c.x + c.w]));
    let (min_x, max_x) = xs.fold((PAD, PAD), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let dx = PAD - min_x;
    let width = max_x + dx + PAD;
    let height = y.saturating_sub(GAP_Y) + PAD;
    let mut out = format!(
        "<svg class=\"flow\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"flow graph\">\n\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>\n"
    );
    for c in &clusters {
        let _ = writeln!(
            out,
            "<rect class=\"cluster\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"8\"/>",
            c.x + dx,
            c.y,
            c.w,
            c.h
        );
    }
    for ((_, _, e), path) in edges.iter().zip(&routed) {
        let class = match e.kind {
            EdgeKind::Flow => "flow-edge",
            EdgeKind::Handoff => "handoff-edge",
            EdgeKind::NoMatch => "nomatch-edge",
        };
        let _ = writeln!(
            out,
            "<path class=\"{class}\" d=\"{}\" marker-end=\"url(#arrow)\"/>",
            path_data(path, dx)
        );
    }
    for (i, n) in nodes.iter().enumerate() {
        let p = Rect {
            x: placed[i].x + dx,
            ..placed[i]
        };
        let _ = writeln!(
            out,
            "<g class=\"node {}\" data-node=\"{}\">{}",
            class(n.shape),
            escape_xml(&n.id),
            outline(n.shape, &p)
        );
        for (k, line) in lines[i].iter().enumerate() {
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                p.x + p.w / 2,
                p.y + PAD / 2 + LINE_H * (k as i64 + 1) - 4,
                escape_xml(line)
            );
        }
        out.push_str("</g>\n");
    }
    // Edge labels last, on top of the edges they name.
    for (x, y, label) in labels {
        let _ = writeln!(
            out,
            "<text class=\"edge-label\" x=\"{}\" y=\"{y}\">{}</text>",
            x + dx,
            escape_xml(label)
        );
    }
    out.push_str("</svg>\n");
    out
}

/// SVG path data, `dx` to the right.
fn path_data(path: &Path, dx: i64) -> String {
    let mut d = format!("M{},{}", path.start.0 + dx, path.start.1);
    for piece in &path.pieces {
        let _ = match *piece {
            Piece::Line((x, y)) => write!(d, " L{},{y}", x + dx),
            Piece::Curve((x1, y1), (x2, y2), (x, y)) => {
                write!(d, " C{},{y1} {},{y2} {},{y}", x1 + dx, x2 + dx, x + dx)
            }
        };
    }
    d
}

/// A box around the branches of each `parallel` group (the nodes between
/// its fork and its gate), outer groups first; none for a group whose box
/// would hold a node from outside it.
fn clusters(nodes: &[&super::Node], placed: &[Rect]) -> Vec<Rect> {
    let mut out = Vec::new();
    let mut forks = Vec::new();
    let mut groups = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        match n.shape {
            Shape::Fork => forks.push(i),
            Shape::Join => {
                if let Some(fork) = forks.pop() {
                    groups.push((fork, i));
                }
            }
            _ => {}
        }
    }
    groups.sort_unstable();
    for (fork, join) in groups {
        let inner = &placed[fork + 1..join];
        let (Some(left), Some(top), Some(right), Some(bottom)) = (
            inner.iter().map(|p| p.x).min(),
            inner.iter().map(|p| p.y).min(),
            inner.iter().map(|p| p.x + p.w).max(),
            inner.iter().map(|p| p.y + p.h).max(),
        ) else {
            continue;
        };
        let rect = Rect {
            x: left - CLUSTER_PAD,
            y: top - CLUSTER_PAD,
            w: right - left + 2 * CLUSTER_PAD,
            h: bottom - top + 2 * CLUSTER_PAD,
        };
        let strangers = placed
            .iter()
            .enumerate()
            .filter(|(i, _)| *i <= fork || *i >= join)
            .any(|(_, p)| {
                p.x < rect.x + rect.w
                    && rect.x < p.x + p.w
                    && p.y < rect.y + rect.h
                    && rect.y < p.y + p.h
            });
        if !strangers {
            out.push(rect);
        }
    }
    out
}

fn class(shape: Shape) -> &'static str {
    match shape {
        Shape::Route => "route",
        Shape::Task => "task",
        Shape::Run => "run",
        Shape::Let => "let",
        Shape::Decision => "decision",
        Shape::Fork => "fork",
        Shape::Join => "join",
        Shape::Approve => "approve",
        Shape::End => "end",
    }
}

fn outline(shape: Shape, p: &Rect) -> String {
    let (x, y, w, h) = (p.x, p.y, p.w, p.h);
    match shape {
        Shape::Route | Shape::Decision => {
            let d = if shape == Shape::Route { PAD } else { 2 * PAD };
            format!(
                "<polygon points=\"{},{y} {},{y} {},{} {},{} {},{} {x},{}\"/>",
                x + d,
                x + w - d,
                x + w,
                y + h / 2,
                x + w - d,
                y + h,
                x + d,
                y + h,
                y + h / 2
            )
        }
        Shape::End => format!(
            "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"{}\"/>",
            h / 2
        ),
        _ => format!("<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"3\"/>"),
    }
}

/// Lines cut to at most `MAX_CHARS` characters, longer ones wrapped at a space.
fn wrap(lines: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for line in lines {
        let mut current = String::new();
        for word in line.split(' ') {
            let len = current.chars().count() + word.chars().count();
            if !current.is_empty() && len >= MAX_CHARS {
                out.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn long_lines_wrap_at_spaces() {
        let long = "word ".repeat(20);
        let lines = wrap(&[long.trim().to_string()]);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.chars().count() <= 48), "{lines:?}");
    }
}
