//! Writes a generated playbook to stdout: `cargo run --release --example gen -- KIND N`.
use coordops::testing::generate as g;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let text = match args.get(1).map(String::as_str) {
        Some("seq") => g::sequential_workflow(n),
        Some("agents") => g::many_agents(n),
        Some("unused") => g::unused_agents(n),
        Some("sized") => g::sized_playbook(n),
        Some("branch") => g::branching_workflow(n),
        Some("pfor") => g::parallel_for(),
        Some("nested") => g::nested_fan_out(),
        _ => {
            eprintln!("usage: gen seq|agents|unused|sized|branch|pfor|nested N");
            std::process::exit(2)
        }
    };
    print!("{text}");
}
