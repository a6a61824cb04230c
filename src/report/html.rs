//! The run as one self-contained HTML page: status, gate lines and
//! escalation as in the Markdown report, the timeline of every step and
//! attempt, and the flow graph as inline SVG. No script, no external
//! stylesheet, font or image: it opens offline. Every text is redacted, then
//! escaped.

use std::fmt::Write;

use super::human_duration;
use super::markdown::gate_lines;
use super::timeline::timeline;
use crate::output::escape_xml as esc;
use crate::runtime::result::RunResult;

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.meta{color:#59636e}.summary{margin:8px 0}
.status{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff;background:#59636e}
.status.complete,.status.ignored{background:#1a7f37}.status.partial,.status.waiting{background:#9a6700}
.status.failed,.status.escalated,.status.aborted,.status.unfinished{background:#cf222e}
ul.gates{padding-left:20px}dl.escalation dt{font-weight:600;margin-top:6px}dl.escalation dd{margin-left:16px}
.timeline .row,.timeline .axis{display:flex;align-items:center;min-height:24px;border-bottom:1px solid #eef1f4}
.timeline .label{flex:0 0 360px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;padding-right:8px}
.timeline .what{color:#59636e;font-size:12px}
.timeline .outcome{font-size:11px;padding:0 5px;border-radius:8px;background:#eef1f4}
.timeline .outcome.failure,.timeline .outcome.timeout,.timeline .outcome.aborted{background:#ffebe9;color:#cf222e}
.timeline .track{position:relative;flex:1;height:18px}
.timeline .axis .track{height:16px;color:#59636e;font-size:11px}.timeline .tick{position:absolute;transform:translateX(-50%);white-space:nowrap}
.timeline .tick:first-child{transform:none}.timeline .tick:last-child{transform:translateX(-100%)}.timeline .tick:only-child{transform:none}
.bar{position:absolute;top:2px;height:14px;min-width:4px;border-radius:3px;background:#2da44e;color:#fff;font-size:10px;line-height:14px;overflow:hidden;padding-left:2px;box-sizing:border-box}
.bar.failure,.bar.denied{background:#cf222e}.bar.timeout{background:#bf8700}.bar.granted{background:#8250df}
.wait{position:absolute;top:7px;height:4px;background:repeating-linear-gradient(90deg,#8c959f 0 4px,transparent 4px 7px)}
.gap.backoff{position:absolute;top:8px;height:2px;background:#d0d7de;border-top:1px dashed #8c959f}
.mark{position:absolute;top:0;font-size:12px;font-weight:700;transform:translateX(-50%)}.mark.timeout{color:#9a6700}.mark.cancelled{color:#cf222e}
.legend span{margin-right:14px;font-size:12px}.legend i{display:inline-block;width:18px;height:8px;margin-right:4px;vertical-align:middle}
.flow{max-width:100%;height:auto}.flow text{font:12px system-ui,Helvetica,Arial,sans-serif;fill:#1f2328}
.flow .node rect,.flow .node polygon{fill:#f6f8fa;stroke:#8c959f}.flow .route polygon{fill:#ddf4ff}.flow .decision polygon{fill:#fff8c5}
.flow .end rect{fill:#dafbe1}.flow .approve rect{fill:#fbefff}
.flow .flow-edge,.flow .nomatch-edge{stroke:#555;fill:none}.flow .nomatch-edge{stroke-dasharray:2 3}
.flow .cluster{fill:#f6f8fa;fill-opacity:.6;stroke:#d0d7de}.flow .handoff-edge{stroke:#5b7bb5;stroke-dasharray:5 4;fill:none}.flow .edge-label{font-size:10px;fill:#59636e;paint-order:stroke;stroke:#fff;stroke-width:3px}
";

/// The run as a self-contained HTML page; `flow` is the flow graph to draw
/// (the part of the playbook the run's signal reaches), when known.
pub fn render_html(result: &RunResult, flow: Option<&crate::graph::Graph>) -> String {
    let mut out = String::new();
    let title = format!(
        "{} {}: {}",
        result.coordinator,
        result.signal,
        result.status.word()
    );
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&title)
    );
    header(&mut out, result);
    gates(&mut out, result);
    waiting(&mut out, result);
    escalation(&mut out, result);
    out.push_str(&timeline(result));
    legend(&mut out);
    if let Some(graph) = flow {
        out.push_str("<section class=\"graph\" id=\"flow\">\n<h2>Flow</h2>\n");
        out.push_str(&crate::graph::svg(graph));
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn header(out: &mut String, r: &RunResult) {
    let status = r.status.word();
    let _ = writeln!(
        out,
        "<header>\n<h1>{} <span class=\"status {status}\" data-status=\"{status}\">{}</span></h1>",
        esc(&format!("{} · {}", r.coordinator, r.signal)),
        status.to_uppercase()
    );
    let route = r.route.as_ref().map_or_else(
        || "no route".to_string(),
        |c| match &c.label {
            Some(l) => format!("route {l}: {} → {}", c.pattern, c.target),
            None => format!("route {} → {}", c.pattern, c.target),
        },
    );
    let _ = writeln!(
        out,
        "<div class=\"meta\">run {} · started {} · took {} · {}</div>",
        esc(&r.run_id),
        esc(&r.started_at),
        human_duration(r.duration_ms),
        esc(&route)
    );
    let _ = writeln!(out, "<p class=\"summary\">{}</p>", esc(&r.summary));
    if let Some(next) = &r.next_steps {
        let _ = writeln!(out, "<p class=\"next\">Next: {}</p>", esc(next));
    }
    out.push_str("</header>\n");
}

fn gates(out: &mut String, r: &RunResult) {
    out.push_str("<section class=\"gates\">\n<h2>Quality gate</h2>\n<ul class=\"gates\">\n");
    for line in gate_lines(r) {
        let _ = writeln!(out, "<li>{}</li>", esc(&line));
    }
    out.push_str("</ul>\n</section>\n");
}

fn waiting(out: &mut String, r: &RunResult) {
    if r.waiting_for.is_empty() && r.decisions.is_empty() {
        return;
    }
    out.push_str("<section class=\"approvals\">\n<h2>Approvals</h2>\n<ul>\n");
    for w in &r.waiting_for {
        let _ = writeln!(
            out,
            "<li>waiting: <b>{}</b> — {} (requested {}, times out {})</li>",
            esc(&w.name),
            esc(&w.message),
            esc(&w.requested_at),
            esc(&w.deadline)
        );
    }
    for d in &r.decisions {
        let _ = writeln!(out, "<li>{}</li>", esc(&super::decision_line(d)));
    }
    out.push_str("</ul>\n</section>\n");
}

fn escalation(out: &mut String, r: &RunResult) {
    let Some(e) = &r.escalation else {
        return;
    };
    let _ = writeln!(
        out,
        "<section class=\"escalation\">\n<h2>Ops Escalation: {}</h2>\n<dl class=\"escalation\">",
        esc(&e.title)
    );
    let partial = if e.partial_results.is_empty() {
        "None completed.".to_string()
    } else {
        e.partial_results.join("; ")
    };
    for (term, value) in [
        ("Type", e.kind.as_str()),
        ("Coordinator", &e.coordinator),
        ("Reports to", &e.reports_to),
        ("Timestamp", &e.timestamp),
        ("Context", &e.context),
        ("Issue", &e.issue),
        ("Partial results", &partial),
        ("Recommended action", &e.recommended),
        ("Retry", &e.options.retry),
        ("Abort", &e.options.abort),
        ("Delegate", &e.options.delegate),
    ] {
        let _ = writeln!(out, "<dt>{term}</dt><dd>{}</dd>", esc(value));
    }
    out.push_str("</dl>\n</section>\n");
}

fn legend(out: &mut String) {
    out.push_str(
        "<p class=\"legend\"><span><i style=\"background:#2da44e\"></i>success</span>\
         <span><i style=\"background:#cf222e\"></i>failure / denied</span>\
         <span><i style=\"background:#bf8700\"></i>timeout !</span>\
         <span><i style=\"background:#8250df\"></i>approval</span>\
         <span><i class=\"wait\" style=\"position:static;display:inline-block\"></i>wait (lock, slot, approval)</span>\
         <span><i style=\"border-top:1px dashed #8c959f\"></i>backoff</span>\
         <span>✕ cancelled</span></p>\n",
    );
}

#[cfg(test)]
mod tests {
    use super::render_html;
    use crate::runtime::record::RunStart;
    use crate::runtime::result::RunResult;

    #[test]
    fn a_run_that_only_began_is_a_page_without_bars_or_flow() {
        let mut result = RunResult::begun(&RunStart::for_tests(0));
        result.summary = "<i>killed</i> & gone".into();
        let html = render_html(&result, None);
        assert!(html.contains(r#"data-status="unfinished">UNFINISHED</span>"#));
        assert!(html.contains("&lt;i&gt;killed&lt;/i&gt; &amp; gone"));
        assert!(!html.contains("data-attempt") && !html.contains("<svg"));
        assert!(html.contains("Every step took no time"));
        assert!(html.ends_with("</html>\n"));
    }
}
