//! Generated playbooks for benchmarks and growth tests.

/// A playbook with one agent and one workflow (`chain`, routed from
/// `GEN:GO`) of `n` sequential steps, each handing the previous step's
/// output on.
pub fn sequential_workflow(n: usize) -> String {
    let mut text = String::from(
        "agent A \"generated\" {\n  task t \"one step\" { timeout 30s }\n}\n\n\
         signal GEN:GO \"go\" {\n  x: string = \"seed\"\n}\n\n\
         route go: GEN:GO => chain\n\n\
         workflow chain \"generated\" {\n  s0 = A.t(x: signal.x)\n",
    );
    for i in 1..n {
        text.push_str(&format!("  s{i} = A.t(x: s{}.out)\n", i - 1));
    }
    text.push_str("}\n");
    text
}
