//! Counting tests: checking work grows linearly with a workflow's length.

use crate::analysis::{check_source, types::work};
use crate::source::SourceFile;
use crate::testing::generate::{branching_workflow, sequential_workflow};

/// Names copied or bindings changed while checking a generated playbook.
fn work_for(text: &str) -> usize {
    let source = SourceFile::new("generated.ops", text);
    work::take();
    let diagnostics = check_source(&source);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    work::take()
}

#[test]
fn checking_sequential_steps_copies_a_linear_number_of_names() {
    let small = work_for(&sequential_workflow(500));
    let large = work_for(&sequential_workflow(2000));
    // Four times the steps: linear work is about 4x, quadratic 16x.
    assert!(
        large <= 5 * small.max(1),
        "500 steps copied {small} names, 2000 steps copied {large}"
    );
    // And no more than a few names per step in absolute terms.
    assert!(large <= 8 * 2000, "2000 steps copied {large} names");
}

#[test]
fn checking_many_ifs_changes_a_linear_number_of_bindings() {
    let small = work_for(&branching_workflow(500));
    let large = work_for(&branching_workflow(2000));
    // Copying the bindings per branch made this 16x.
    assert!(
        large <= 5 * small.max(1),
        "500 ifs: {small} binding changes, 2000 ifs: {large}"
    );
    assert!(large <= 16 * 2000, "2000 ifs: {large} binding changes");
}

/// A workflow with one `parallel` group of `n` branches, each binding a
/// result, then a step reading them all.
fn wide_group(n: usize) -> String {
    let mut text = String::from(
        "agent A \"a\" {\n  task t \"t\" { timeout 30s }\n}\n\
         signal GEN:GO \"go\" {\n}\nroute go: GEN:GO => w\n\
         workflow w \"w\" {\n  parallel {\n",
    );
    for i in 0..n {
        text.push_str(&format!("    b{i} = A.t(x: 1)\n"));
    }
    text.push_str("  }\n  A.t(");
    let args: Vec<String> = (0..n).map(|i| format!("x{i}: b{i}")).collect();
    text.push_str(&args.join(", "));
    text.push_str(")\n}\n");
    text
}

#[test]
fn wide_parallel_groups_enter_each_sibling_once() {
    // Past the fan-out limit (an error, still walked): every branch used to
    // get a copy of every other branch's names.
    let count = |n: usize| {
        let source = SourceFile::new("wide.ops", wide_group(n));
        work::take();
        check_source(&source);
        work::take()
    };
    let small = count(100);
    let large = count(400);
    assert!(large <= 5 * small.max(1), "100: {small}, 400: {large}");
}
