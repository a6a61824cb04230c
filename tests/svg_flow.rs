//! The inline SVG flow of the HTML report, as geometry: over every playbook
//! in the repository that checks clean (and a few generated ones), in every
//! scope (`--workflow`, `--signal`, all), no edge passes through a node box
//! other than its own two ends, no edge label sits on a box, and drawing
//! twice gives the same bytes.

use std::path::{Path, PathBuf};

use coordops::analysis::parse_and_check;
use coordops::ast::SignalPattern;
use coordops::graph::{build, svg, Scope};
use coordops::source::SourceFile;
use coordops::testing::generate;

/// A box: left, top, right, bottom.
type Rect = (f64, f64, f64, f64);

fn attr(line: &str, name: &str) -> Option<String> {
    let start = line.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = line[start..].find('"')?;
    Some(line[start..start + len].to_string())
}

fn num(line: &str, name: &str) -> f64 {
    attr(line, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number `{name}` in {line}"))
}

fn numbers(text: &str) -> Vec<f64> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap_or_else(|_| panic!("not a number: {s}")))
        .collect()
}

/// The outline of a node line (`<rect …>` or `<polygon points=…>`).
fn node_box(line: &str) -> Rect {
    let outline = &line[line
        .find("<rect")
        .or_else(|| line.find("<polygon"))
        .expect("outline")..];
    if outline.starts_with("<rect") {
        let (x, y) = (num(outline, "x"), num(outline, "y"));
        (x, y, x + num(outline, "width"), y + num(outline, "height"))
    } else {
        let pts = numbers(&attr(outline, "points").expect("points"));
        let xs = pts.iter().step_by(2);
        let ys = pts.iter().skip(1).step_by(2);
        (
            xs.clone().copied().fold(f64::MAX, f64::min),
            ys.clone().copied().fold(f64::MAX, f64::min),
            xs.copied().fold(f64::MIN, f64::max),
            ys.copied().fold(f64::MIN, f64::max),
        )
    }
}

/// Points along an edge (a `<line>` or a `<path>` of M, L and C commands),
/// at most half a pixel apart.
fn edge_points(line: &str) -> Vec<(f64, f64)> {
    let mut pieces: Vec<Vec<(f64, f64)>> = Vec::new();
    if line.starts_with("<line") {
        let a = (num(line, "x1"), num(line, "y1"));
        let b = (num(line, "x2"), num(line, "y2"));
        pieces.push(vec![a, b]);
    } else {
        let d = attr(line, "d").expect("a path's d");
        let mut at = (0.0, 0.0);
        let mut rest = d.as_str();
        while let Some(cmd) = rest.chars().next() {
            let end = rest[1..]
                .find(|c: char| c.is_ascii_alphabetic())
                .map_or(rest.len(), |i| i + 1);
            let n = numbers(&rest[1..end]);
            let p: Vec<(f64, f64)> = n.chunks(2).map(|c| (c[0], c[1])).collect();
            match cmd {
                'M' => at = p[0],
                'L' => {
                    for q in p {
                        pieces.push(vec![at, q]);
                        at = q;
                    }
                }
                'C' => {
                    for c in p.chunks(3) {
                        pieces.push(vec![at, c[0], c[1], c[2]]);
                        at = c[2];
                    }
                }
                other => panic!("unexpected path command {other} in {line}"),
            }
            rest = &rest[end..];
        }
    }
    let mut out = Vec::new();
    for piece in pieces {
        let span: f64 = piece
            .windows(2)
            .map(|w| (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1))
            .sum();
        let steps = (span * 2.0).ceil().max(1.0) as usize;
        for i in 0..=steps {
            let t = i as f64 / steps as f64;
            out.push(if piece.len() == 2 {
                lerp(piece[0], piece[1], t)
            } else {
                bezier(&piece, t)
            });
        }
    }
    out
}

fn lerp(a: (f64, f64), b: (f64, f64), t: f64) -> (f64, f64) {
    (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t)
}

fn bezier(p: &[(f64, f64)], t: f64) -> (f64, f64) {
    let u = 1.0 - t;
    let w = [u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t];
    (
        p.iter().zip(w).map(|(q, w)| q.0 * w).sum(),
        p.iter().zip(w).map(|(q, w)| q.1 * w).sum(),
    )
}

/// Whether the point is inside the box, more than half a pixel from its edge.
fn inside(r: &Rect, p: (f64, f64)) -> bool {
    p.0 > r.0 + 0.5 && p.0 < r.2 - 0.5 && p.1 > r.1 + 0.5 && p.1 < r.3 - 0.5
}

/// Whether the point is on the box or within a pixel of it.
fn touches(r: &Rect, p: (f64, f64)) -> bool {
    p.0 >= r.0 - 1.0 && p.0 <= r.2 + 1.0 && p.1 >= r.1 - 1.0 && p.1 <= r.3 + 1.0
}

fn overlap(a: &Rect, b: &Rect) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Everything wrong with a drawing's geometry, one line each.
fn faults(drawing: &str) -> Vec<String> {
    let boxes: Vec<(String, Rect)> = drawing
        .lines()
        .filter(|l| l.starts_with("<g class=\"node"))
        .map(|l| (attr(l, "data-node").expect("data-node"), node_box(l)))
        .collect();
    let mut faults = Vec::new();
    for line in drawing.lines() {
        let is_edge =
            line.contains("-edge\"") && (line.starts_with("<line") || line.starts_with("<path"));
        if is_edge {
            let points = edge_points(line);
            let (first, last) = (points[0], points[points.len() - 1]);
            let span = points
                .iter()
                .fold((f64::MAX, f64::MAX, f64::MIN, f64::MIN), |s, p| {
                    (s.0.min(p.0), s.1.min(p.1), s.2.max(p.0), s.3.max(p.1))
                });
            for (id, r) in &boxes {
                if !overlap(r, &span) || touches(r, first) || touches(r, last) {
                    continue;
                }
                if let Some(p) = points.iter().find(|p| inside(r, **p)) {
                    faults.push(format!("{line}\n  crosses {id} at {p:?}"));
                }
            }
        } else if line.starts_with("<text class=\"edge-label\"") {
            let (x, y) = (num(line, "x"), num(line, "y"));
            let text = &line[line.find('>').expect("text") + 1..line.rfind("</").expect("end")];
            // 10px text: about 6px a character, 9px above the baseline.
            let label = (x, y - 9.0, x + 6.0 * text.chars().count() as f64, y + 2.0);
            for (id, r) in &boxes {
                if overlap(&label, r) {
                    faults.push(format!("{line}\n  sits on {id}"));
                }
            }
        }
    }
    faults
}

/// A signal each route's pattern matches.
fn signal_for(pattern: &SignalPattern) -> String {
    match pattern {
        SignalPattern::Exact { name, .. } => name.clone(),
        SignalPattern::Namespace { namespace, .. } => format!("{namespace}:ANY"),
        SignalPattern::Any { .. } => "ANY:THING".to_string(),
    }
}

/// Every drawing of a source that checks clean: all, each workflow, each
/// route's signal. Each drawn twice, which must give the same bytes.
fn drawings(file: &SourceFile) -> Vec<(String, String)> {
    let checked = parse_and_check(file);
    let Some(playbook) = checked.playbook else {
        return Vec::new();
    };
    if checked.diagnostics.iter().any(|d| d.is_error()) {
        return Vec::new();
    }
    let workflows: Vec<String> = playbook.workflows().map(|w| w.name.name.clone()).collect();
    let signals: Vec<String> = playbook.routes().map(|r| signal_for(&r.pattern)).collect();
    let mut scopes = vec![("all".to_string(), Scope::All)];
    scopes.extend(
        workflows
            .iter()
            .map(|w| (format!("--workflow {w}"), Scope::Workflow(w))),
    );
    scopes.extend(
        signals
            .iter()
            .map(|s| (format!("--signal {s}"), Scope::Signal(s))),
    );
    let mut out = Vec::new();
    for (name, scope) in scopes {
        let Ok(graph) = build(&playbook, file, scope) else {
            continue;
        };
        let drawing = svg(&graph);
        assert_eq!(
            drawing,
            svg(&graph),
            "{} {name}: not deterministic",
            file.name()
        );
        out.push((format!("{} {name}", file.name()), drawing));
    }
    out
}

fn ops_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("a directory")
        .map(|e| e.expect("an entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            ops_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "ops") {
            out.push(path);
        }
    }
}

#[test]
fn no_edge_crosses_a_box_and_no_label_sits_on_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["playbooks", "tests/fixtures", "fuzz/seeds"] {
        ops_files(&root.join(dir), &mut files);
    }
    let mut sources: Vec<SourceFile> = files
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("readable");
            let name = p.strip_prefix(root).unwrap_or(p).display().to_string();
            SourceFile::new(name, text)
        })
        .collect();
    for (name, text) in [
        ("generated branch", generate::branching_workflow(12)),
        ("generated pfor", generate::parallel_for()),
        ("generated nested", generate::nested_fan_out()),
        ("generated seq", generate::sequential_workflow(8)),
    ] {
        sources.push(SourceFile::new(name, text));
    }
    let mut drawn = 0;
    let mut all = Vec::new();
    for file in &sources {
        for (name, drawing) in drawings(file) {
            drawn += 1;
            all.extend(faults(&drawing).into_iter().map(|f| format!("{name}: {f}")));
        }
    }
    assert!(drawn > 100, "only {drawn} drawings");
    assert!(all.is_empty(), "{} faults:\n{}", all.len(), all.join("\n"));
}

#[test]
fn the_checker_sees_an_edge_through_a_box() {
    let drawing = "<g class=\"node task\" data-node=\"n1\"><rect x=\"0\" y=\"0\" width=\"10\" height=\"10\"/>\n\
                   <g class=\"node task\" data-node=\"n2\"><rect x=\"0\" y=\"40\" width=\"10\" height=\"10\"/>\n\
                   <g class=\"node task\" data-node=\"n3\"><rect x=\"0\" y=\"80\" width=\"10\" height=\"10\"/>\n\
                   <path class=\"flow-edge\" d=\"M5,10 C5,30 5,60 5,80\"/>\n\
                   <text class=\"edge-label\" x=\"2\" y=\"45\">yes</text>\n";
    let found = faults(drawing);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains("crosses n2") && found[1].contains("sits on n2"));
}

#[test]
fn a_parallel_group_is_a_cluster_around_its_branches() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("playbooks/coord_ops.ops")).expect("readable");
    let file = SourceFile::new("coord_ops.ops", text);
    let playbook = parse_and_check(&file).playbook.expect("parses");
    let drawing = svg(&build(&playbook, &file, Scope::Signal("OPS:RELEASE")).expect("drawn"));
    let clusters: Vec<Rect> = drawing
        .lines()
        .filter(|l| l.starts_with("<rect class=\"cluster\""))
        .map(node_box)
        .collect();
    assert_eq!(clusters.len(), 1, "{drawing}");
    let mut branches = Vec::new();
    let mut node = None;
    for line in drawing.lines() {
        if line.starts_with("<g class=\"node") {
            node = Some(node_box(line));
        } else if line.contains(">changelog = ") || line.contains(">bump = ") {
            branches.extend(node);
        }
    }
    assert_eq!(branches.len(), 2);
    let c = clusters[0];
    for b in branches {
        assert!(
            c.0 < b.0 && c.1 < b.1 && b.2 < c.2 && b.3 < c.3,
            "{b:?} in {c:?}"
        );
    }
}
