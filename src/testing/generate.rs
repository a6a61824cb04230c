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

/// `n` agents `A0`…, each with one task, each the target of its own route
/// from `GEN:GO` (guarded by `signal.n == i`): about 110 bytes per agent,
/// so 10,000 agents make a 1 MB playbook that checks clean.
pub fn many_agents(n: usize) -> String {
    let mut text = String::from("signal GEN:GO \"go\" {\n  n: int = 0\n}\n\n");
    for i in 0..n {
        text.push_str(&format!(
            "agent A{i} \"agent {i}\" {{\n  task t \"its task\" {{ timeout 30s }}\n}}\n\
             route r{i}: GEN:GO when signal.n == {i} => A{i}.t\n"
        ));
    }
    text
}

/// `n` agents that nothing uses: `n` `ops::lint::unused_agent` warnings.
pub fn unused_agents(n: usize) -> String {
    let mut text = String::from(
        "agent A \"used\" {\n  task t \"t\" { timeout 30s }\n}\n\
         signal GEN:GO \"go\" {\n}\n\
         route go: GEN:GO => A.t\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "agent U{i} \"unused {i}\" {{\n  task t \"t\" {{ timeout 30s }}\n}}\n"
        ));
    }
    text
}

/// One unit of [`sized_playbook`]: an agent with three tasks (outputs,
/// checks), a signal, a route and a workflow with a step chain, an `if`, a
/// `parallel for` and a completion, all suffixed with `i`.
fn unit(i: usize) -> String {
    format!(
        r#"# unit {i}
agent AG{i} "Agent {i}" {{
  max_concurrent 4
  task build "Build {i}" {{
    timeout 30s
    retry 2 backoff 1s x2 on [network, timeout]
    outputs {{ hash: string, ok: bool, files: list<string> }}
    check ok "Build succeeded": output.ok == true
  }}
  task test "Test {i}" {{
    timeout 2m
    outputs {{ passed: int, failed: int }}
    check green "No failures": output.failed == 0
  }}
  task publish "Publish {i}" {{ timeout 1m outputs {{ url: string }} }}
}}

signal GEN:S{i} "Signal {i}" {{
  deep: bool = false
  items: list<string> = []
  label: string = "unit-{i}"
}}

route r{i}: GEN:S{i} when signal.label ~ /unit-.*/ => w{i}

workflow w{i} "Workflow {i}" timeout 10m {{
  b = AG{i}.build(label: signal.label)
  t = AG{i}.test(hash: b.hash)
  if t.failed > 0 and signal.deep {{
    AG{i}.build(label: "again {{signal.label}}")
  }} else {{
    parallel for item in signal.items gate 80% timeout 5m {{
      AG{i}.test(hash: item)
    }}
  }}
  p = AG{i}.publish(hash: b.hash, passed: t.passed)
  complete {{ url: p.url, hash: b.hash }}
}}

"#
    )
}

/// A playbook of at least `bytes` bytes made of independent units (agents
/// with outputs and checks, signals, guarded routes, workflows with chains,
/// `if`, `parallel for`): the shape of a real playbook, scaled. Checks clean.
pub fn sized_playbook(bytes: usize) -> String {
    let mut text = String::from("coordinator GEN \"generated\" {\n  gate 80%\n  timeout 2m\n}\n\n");
    let mut i = 0;
    while text.len() < bytes {
        text.push_str(&unit(i));
        i += 1;
    }
    text
}

/// One workflow of `n` `if` blocks in sequence, each binding a result the
/// next condition reads: the branch-heavy shape of a long runbook.
pub fn branching_workflow(n: usize) -> String {
    let mut text = String::from(
        "agent A \"generated\" {\n  task t \"one step\" { timeout 30s outputs { ok: bool, n: int } }\n}\n\n\
         signal GEN:GO \"go\" {\n  x: string = \"seed\"\n}\n\n\
         route go: GEN:GO => chain\n\n\
         workflow chain \"generated\" {\n  s0 = A.t(x: signal.x)\n",
    );
    for i in 1..n {
        text.push_str(&format!(
            "  s{i} = A.t(x: s{}.n)\n  if s{i}.ok {{\n    A.t(x: s{i}.n)\n  }} else {{\n    A.t(x: s{}.n)\n  }}\n",
            i - 1,
            i - 1
        ));
    }
    text.push_str("}\n");
    text
}

/// A workflow (routed from `GEN:GO`) with one `parallel for` over
/// `signal.items`, one call per element; pair with [`items`].
pub fn parallel_for() -> String {
    String::from(
        "agent A \"generated\" {\n  task t \"one call\" { timeout 30s retry 0 }\n}\n\n\
         signal GEN:GO \"go\" {\n  items: list<int> = []\n}\n\n\
         route go: GEN:GO => fan\n\n\
         workflow fan \"generated\" {\n  parallel for item in signal.items gate 80% {\n    A.t(x: item)\n  }\n}\n",
    )
}

/// Nested fan-out (routed from `GEN:GO`): a `parallel for` over
/// `signal.outer` whose branch is a `parallel for` over `signal.inner`, one
/// call per pair; `outer × inner` calls. Pair with [`items`].
pub fn nested_fan_out() -> String {
    String::from(
        "agent A \"generated\" {\n  task t \"one call\" { timeout 30s retry 0 }\n}\n\n\
         signal GEN:GO \"go\" {\n  outer: list<int> = []\n  inner: list<int> = []\n}\n\n\
         route go: GEN:GO => fan\n\n\
         workflow fan \"generated\" {\n  parallel for o in signal.outer gate 80% {\n    \
         parallel for i in signal.inner gate 80% {\n      A.t(x: o, y: i)\n    }\n  }\n}\n",
    )
}

/// The JSON list `[0, 1, …, n-1]`, for a `list<int>` signal field.
pub fn items(n: usize) -> serde_json::Value {
    serde_json::Value::Array((0..n).map(|i| serde_json::Value::from(i as u64)).collect())
}
