//! Tests of lowering: source text to the AST, node by node.

use super::*;
use crate::ast::*;

fn playbook(text: &str) -> Playbook {
    let parsed = parse(&SourceFile::new("test.ops", text));
    match parsed.playbook {
        Some(p) => p,
        None => panic!("{:?}", parsed.diagnostics),
    }
}

fn guard(expr: &str) -> Expr {
    let p = playbook(&format!("route OPS:X when {expr} => ignore"));
    let guard = p.routes().next().and_then(|r| r.guard.clone());
    guard.expect("guard")
}

fn shape(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Binary { op, lhs, rhs } => {
            format!("({} {} {})", shape(lhs), op.symbol(), shape(rhs))
        }
        ExprKind::Unary { operand, .. } => format!("(not {})", shape(operand)),
        ExprKind::Path { segments } => segments
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join("."),
        ExprKind::Int { value } => value.to_string(),
        other => format!("{other:?}"),
    }
}

#[test]
fn precedence_or_and_not_comparison() {
    assert_eq!(shape(&guard("a or b and c")), "(a or (b and c))");
    assert_eq!(shape(&guard("not a == 1 and b")), "((not (a == 1)) and b)");
    assert_eq!(shape(&guard("a < 1 or b >= 2")), "((a < 1) or (b >= 2))");
    assert_eq!(shape(&guard("(a or b) and c")), "((a or b) and c)");
    assert!(shape(&guard("x.y in [1, 2]")).starts_with("(x.y in"));
}

#[test]
fn strings_decode_escapes_and_interpolation() {
    let e = guard(r#""a\"b\n\u{e9} {signal.version}!" == "x""#);
    let ExprKind::Binary { lhs, .. } = e.kind else {
        panic!()
    };
    let ExprKind::Str { value } = lhs.kind else {
        panic!()
    };
    assert_eq!(value.parts.len(), 3);
    assert_eq!(
        value.parts[0],
        StrPart::Text {
            text: "a\"b\né ".into()
        }
    );
    assert!(matches!(value.parts[1], StrPart::Interpolation { .. }));
    assert_eq!(value.parts[2], StrPart::Text { text: "!".into() });
}

#[test]
fn literals() {
    assert!(matches!(
        guard("1h30m").kind,
        ExprKind::Duration { millis: 5_400_000 }
    ));
    assert!(matches!(guard("80%").kind, ExprKind::Percent { value: 80 }));
    assert!(matches!(guard("-3").kind, ExprKind::Int { value: -3 }));
    let ExprKind::Regex { pattern } = guard(r"/^a\/b$/").kind else {
        panic!()
    };
    assert_eq!(pattern, r"^a\/b$");
    let ExprKind::Map { entries } = guard(r#"{ a: 1 "b c": 2, }"#).kind else {
        panic!()
    };
    assert_eq!(entries[1].key.name, "b c");
}

#[test]
fn retry_policy_parts() {
    let p = playbook("coordinator C { retry 3 backoff 2s x1.5 max 30s on [rejected, timeout] }");
    let c = p.coordinators().next().expect("coordinator");
    let Setting::Retry(r) = &c.settings[0] else {
        panic!()
    };
    assert_eq!(r.retries.value, 3);
    assert_eq!(r.backoff.as_ref().map(|d| d.millis), Some(2000));
    assert_eq!(r.multiplier.as_ref().map(|m| m.value), Some(1.5));
    assert_eq!(r.max_delay.as_ref().map(|d| d.millis), Some(30_000));
    let kinds: Vec<_> = r.on.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(kinds, ["rejected", "timeout"]);
    assert!(r.jitter.is_none() && r.within.is_none());
}

#[test]
fn retry_policy_jitter_and_budget() {
    let p = playbook("coordinator C { retry 5 backoff 1s x2 jitter within 2m on [network] }");
    let c = p.coordinators().next().expect("coordinator");
    let Setting::Retry(r) = &c.settings[0] else {
        panic!()
    };
    assert!(r.jitter.is_some());
    assert_eq!(r.within.as_ref().map(|d| d.millis), Some(120_000));
    assert_eq!(r.on.len(), 1);
    // Both without `backoff` too.
    let p = playbook("coordinator C { retry 3 jitter }\nagent A { retry 2 within 30s }");
    let c = p.coordinators().next().expect("coordinator");
    assert!(matches!(&c.settings[0], Setting::Retry(r) if r.jitter.is_some()));
}

#[test]
fn retry_policy_except() {
    let retry = |src: &str| {
        let p = playbook(src);
        let c = p.coordinators().next().expect("coordinator");
        let Setting::Retry(r) = &c.settings[0] else {
            panic!()
        };
        let names =
            |v: &[crate::ast::Ident]| -> Vec<String> { v.iter().map(|k| k.name.clone()).collect() };
        (names(&r.on), names(&r.except))
    };
    let (on, except) = retry("coordinator C { retry 3 jitter except [network, quota] }");
    assert!(on.is_empty());
    assert_eq!(except, ["network", "quota"]);
    // Both, in either order, parse: check reports the conflict.
    for src in [
        "coordinator C { retry 3 on [rejected] except [network] }",
        "coordinator C { retry 3 except [network] on [rejected] }",
    ] {
        assert_eq!(
            retry(src),
            (vec!["rejected".into()], vec!["network".into()])
        );
    }
    // `except` is a keyword only in a retry policy.
    let p = playbook("agent A { task except }");
    assert_eq!(
        p.agents().next().expect("agent").tasks[0].name.name,
        "except"
    );
}

#[test]
fn routes_labels_patterns_and_targets() {
    let p = playbook(
        "route fast: OPS:COMMIT when signal.simple => RM.commit(files: [])\n\
         route OPS:* => escalate Boundary \"no\"\nroute * => ignore\nroute OPS:A => flow",
    );
    let routes: Vec<_> = p.routes().collect();
    assert_eq!(
        routes[0].label.as_ref().map(|l| l.name.as_str()),
        Some("fast")
    );
    assert!(routes[0].pattern.matches("OPS:COMMIT"));
    assert!(matches!(routes[0].target, RouteTarget::Task(_)));
    assert!(routes[1].pattern.matches("OPS:ANY") && !routes[1].pattern.matches("X:ANY"));
    assert!(matches!(routes[1].target, RouteTarget::Escalate(_)));
    assert!(routes[2].pattern.matches("ANYTHING"));
    assert!(matches!(routes[3].target, RouteTarget::Workflow(_)));
}

#[test]
fn steps_options_and_handlers() {
    let p = playbook(
        "workflow w {\n  c = A.commit() timeout 30s critical lock g when x\n    \
         on failure(rejected, conflict) => A.fetch() then retry\n  \
         if a { A.b() } else if b { A.c() } else { abort \"no\" }\n  \
         parallel for f in signal.files gate 50% { A.d(file: f) }\n}",
    );
    let w = p.workflows().next().expect("workflow");
    let Stmt::Call(c) = &w.body.stmts[0] else {
        panic!()
    };
    assert_eq!(c.options.len(), 5);
    let StepOption::Handler(h) = &c.options[4] else {
        panic!()
    };
    assert_eq!(h.kinds.len(), 2);
    assert!(h.recovery.is_some());
    assert!(matches!(h.action, HandlerAction::Retry { .. }));
    let Stmt::If(i) = &w.body.stmts[1] else {
        panic!()
    };
    assert_eq!(i.branches.len(), 2);
    assert!(i.else_block.is_some());
    let Stmt::Parallel(g) = &w.body.stmts[2] else {
        panic!()
    };
    assert!(g.each.is_some());
    assert_eq!(
        g.gate.as_ref().map(|x| x.rule),
        Some(crate::ast::GateRule::Percent { value: 50 })
    );
}

#[test]
fn count_gates_and_early_stops_parse() {
    use crate::ast::{GateRule, StopWhen};
    let gate_of = |head: &str| {
        let text = format!("workflow w {{\n  {head} {{\n    A.t()\n  }}\n}}");
        let parsed = parse(&SourceFile::new("t", text));
        assert!(
            parsed.diagnostics.is_empty(),
            "{head}: {:?}",
            parsed.diagnostics
        );
        let Some(Item::Workflow(w)) = parsed.playbook.as_ref().and_then(|p| p.items.first()) else {
            panic!("{head}: no workflow")
        };
        let Stmt::Parallel(g) = &w.body.stmts[0] else {
            panic!("{head}: no group")
        };
        (g.gate.as_ref().map(|x| x.rule), g.stop, g.timeout.is_some())
    };
    assert_eq!(
        gate_of("parallel gate tolerate 1"),
        (Some(GateRule::Tolerate { tolerate: 1 }), None, false)
    );
    assert_eq!(
        gate_of("parallel for x in [1] gate at least 2 stop when passed timeout 5m"),
        (
            Some(GateRule::AtLeast { at_least: 2 }),
            Some(StopWhen::Passed),
            true
        )
    );
    assert_eq!(
        gate_of("parallel timeout 5m gate 80% stop when failed"),
        (
            Some(GateRule::Percent { value: 80 }),
            Some(StopWhen::Failed),
            true
        )
    );
    assert_eq!(
        gate_of("parallel gate tolerate 0 stop when decided"),
        (
            Some(GateRule::Tolerate { tolerate: 0 }),
            Some(StopWhen::Decided),
            false
        )
    );
    // The new words are not reserved: they still name things.
    let names = "workflow w {\n  stop = A.t()\n  least = A.t()\n  at = A.t(x: tolerate)\n}";
    let parsed = parse(&SourceFile::new("t", names));
    assert_eq!(parsed.diagnostics.len(), 0, "{:?}", parsed.diagnostics);
    for bad in [
        "parallel gate tolerate -1",
        "parallel gate at least 99999999999999999999",
        "parallel stop when passed",
        "parallel gate 80% stop when done",
    ] {
        let text = format!("workflow w {{\n  {bad} {{\n    A.t()\n  }}\n}}");
        let parsed = parse(&SourceFile::new("t", text));
        assert!(!parsed.diagnostics.is_empty(), "{bad} parses");
    }
}

#[test]
fn lowering_limits_are_diagnostics() {
    let long = format!("route OPS:X when {} => ignore", vec!["a"; 40].join(" and "));
    let parsed = parse(&SourceFile::new("t", long));
    assert_eq!(parsed.diagnostics[0].code, codes::PARSE_EXPRESSION_TOO_LONG);
    let big = parse(&SourceFile::new(
        "t",
        "agent A { max_concurrent 99999999999999999999 }",
    ));
    assert_eq!(big.diagnostics[0].code, codes::PARSE_NUMBER_TOO_LARGE);
    let bad = parse(&SourceFile::new(
        "t",
        "route OPS:X when \"\\u{d800}\" => ignore",
    ));
    assert_eq!(bad.diagnostics[0].code, codes::PARSE_INVALID_ESCAPE);
}
