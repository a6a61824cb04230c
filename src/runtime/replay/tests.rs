use std::sync::atomic::AtomicUsize;

use serde_json::{json, Map};

use super::*;
use crate::ast::Playbook;
use crate::runtime::effects::Effects;
use crate::runtime::record::{Entry, Recorder};
use crate::runtime::result::{RunResult, RunStatus};
use crate::runtime::{simulate, simulated::Scenario, RunRequest};
use crate::source::SourceFile;

#[derive(Default)]
struct Memory(Mutex<Vec<Entry>>);

impl Recorder for Memory {
    fn record(&self, entry: &Entry) {
        crate::sync::lock(&self.0).push(entry.clone());
    }
}

/// Answers every call with `out`, counting calls by idempotency key.
#[derive(Default)]
struct Counting {
    calls: Mutex<Vec<(String, u32)>>,
    approvals: AtomicUsize,
}

#[async_trait]
impl AgentBackend for Counting {
    async fn call(&self, request: TaskRequest) -> Reply {
        crate::sync::lock(&self.calls).push((request.idempotency_key.to_string(), request.attempt));
        let mut out = Map::new();
        out.insert("out".into(), json!("live"));
        TaskOutcome::Success(out).into()
    }
    async fn approve(&self, _request: ApprovalRequest) -> Decision {
        self.approvals.fetch_add(1, Ordering::Relaxed);
        Decision::Granted
    }
}

fn playbook(text: &str) -> (SourceFile, Playbook) {
    let file = SourceFile::new("p.ops", text);
    let checked = crate::analysis::parse_and_check(&file);
    let playbook = checked.playbook.expect("parses");
    (file, playbook)
}

const START: u64 = 1_767_225_600_000;

fn request<'a>(file: &'a SourceFile, playbook: &'a Playbook) -> RunRequest<'a> {
    RunRequest {
        playbook,
        source: Some(file),
        signal: "GEN:GO".into(),
        context: crate::runtime::context::build(playbook, "GEN:GO", &[]).expect("context"),
        run_id: "r".into(),
        now: SystemTime::UNIX_EPOCH + Duration::from_millis(START),
    }
}

fn recorded(file: &SourceFile, playbook: &Playbook) -> (RunResult, Vec<Entry>) {
    let memory = Arc::new(Memory::default());
    let result = simulate(
        request(file, playbook),
        Scenario::default(),
        Some(memory.clone()),
        |_| {},
    )
    .expect("dry run");
    let entries = crate::sync::lock(&memory.0).clone();
    (result, entries)
}

/// Replays `entries` on a paused runtime in `mode` (built by `make`).
fn replay(
    file: &SourceFile,
    playbook: &Playbook,
    entries: &[Entry],
    mode: Mode,
    origin: SystemTime,
    recorder: Option<Arc<dyn Recorder>>,
) -> (RunResult, Option<Divergence>, bool) {
    let history = Arc::new(History::new(entries).expect("history"));
    let runtime =
        crate::runtime::effects::runtime(crate::runtime::effects::Clock::Virtual).expect("runtime");
    runtime.block_on(async {
        let cancel = CancellationToken::new();
        let layer = Arc::new(ReplayBackend::new(
            history,
            mode,
            origin,
            cancel.clone(),
            BTreeSet::new(),
        ));
        let mut req = request(file, playbook);
        req.now = origin;
        let switcher = {
            let layer = Arc::clone(&layer);
            tokio::spawn(async move { layer.go_live_at_horizon().await })
        };
        let mut effects = Effects::new(layer.clone()).recorded(recorder);
        effects.cancel = cancel;
        let result = crate::runtime::run_with(req, effects).await;
        switcher.abort();
        (result, layer.divergence(), layer.is_live())
    })
}

fn path(result: &RunResult) -> Vec<(String, String, usize)> {
    result
        .steps
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.outcome.word().to_string(),
                s.attempts.len(),
            )
        })
        .collect()
}

#[test]
fn a_replay_of_a_dry_run_takes_the_recorded_path_and_diverges_nowhere() {
    let text = crate::testing::generate::sequential_workflow(3);
    let (file, playbook) = playbook(&text);
    let (original, entries) = recorded(&file, &playbook);
    let origin = SystemTime::UNIX_EPOCH + Duration::from_millis(START);
    let (replayed, divergence, live) = replay(
        &file,
        &playbook,
        &entries,
        Mode::Check { complete: true },
        origin,
        None,
    );
    assert_eq!(divergence, None);
    assert!(!live);
    assert_eq!(replayed.status, original.status);
    assert_eq!(path(&replayed), path(&original));
    assert_eq!(replayed.duration_ms, original.duration_ms);
    assert_eq!(replayed.payload, original.payload);
}

#[test]
fn a_changed_step_is_the_first_divergence() {
    let text = crate::testing::generate::sequential_workflow(3);
    let (file, playbook_a) = playbook(&text);
    let (_, entries) = recorded(&file, &playbook_a);
    let changed = text.replace(
        "agent A \"generated\" {\n  task t \"one step\" { timeout 30s }\n}",
        "agent A \"generated\" {\n  task t \"one step\" { timeout 30s }\n  task u \"other\" { timeout 30s }\n}",
    );
    // Keep the call sites where they were: change the last call's task only.
    let changed = changed.replace("s2 = A.t(", "s2 = A.u(");
    let (file_b, playbook_b) = playbook(&changed);
    let origin = SystemTime::UNIX_EPOCH + Duration::from_millis(START);
    let (_, divergence, _) = replay(
        &file_b,
        &playbook_b,
        &entries,
        Mode::Check { complete: true },
        origin,
        None,
    );
    let divergence = divergence.expect("diverges");
    assert_eq!(divergence.name, "s2");
    assert!(divergence.now.contains("A.u"), "{divergence}");
}

#[test]
fn a_resume_answers_recorded_attempts_and_sends_only_the_rest() {
    let text = crate::testing::generate::sequential_workflow(3);
    let (file, playbook) = playbook(&text);
    let (_, entries) = recorded(&file, &playbook);
    // The crash: right after s1's attempt was sent.
    let cut = entries
        .iter()
        .position(|e| matches!(e, Entry::Attempt(a) if a.step == "s1"))
        .expect("s1 sent");
    let kept = &entries[..=cut];
    let live = Arc::new(Counting::default());
    let journal = Arc::new(Memory::default());
    let history = History::new(kept).expect("history");
    let appending: Arc<dyn Recorder> = Arc::new(Appending::new(journal.clone(), &history));
    // The run began "now" on the wall clock, so the downtime is nothing.
    let (result, divergence, went_live) = replay(
        &file,
        &playbook,
        kept,
        Mode::Resume(live.clone()),
        SystemTime::now(),
        Some(appending),
    );
    assert_eq!(divergence, None);
    assert!(went_live);
    assert_eq!(result.status, RunStatus::Complete, "{}", result.summary);
    let calls = crate::sync::lock(&live.calls).clone();
    let keys: Vec<&str> = calls.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys.len(), 2, "s0 is never sent again: {keys:?}");
    let s1_key = match &entries[cut] {
        Entry::Attempt(a) => history::attempt_key(a),
        _ => unreachable!(),
    };
    assert_eq!(keys[0], s1_key, "the attempt in flight, with its key");
    // Only what the journal lacked was appended: s0's step is not again.
    let appended = crate::sync::lock(&journal.0).clone();
    assert!(!appended.iter().any(|e| matches!(e, Entry::Start(_))));
    assert!(!appended
        .iter()
        .any(|e| matches!(e, Entry::Step(s) if s.name == "s0")));
    assert!(!appended
        .iter()
        .any(|e| matches!(e, Entry::Attempt(a) if a.step == "s1")));
    assert!(appended
        .iter()
        .any(|e| matches!(e, Entry::AttemptEnd(a) if a.step == "s1")));
    assert!(matches!(appended.last(), Some(Entry::End(_))));
    assert_eq!(live.approvals.load(Ordering::Relaxed), 0);
}

/// Fails attempt 1 (`network`), answers the others.
struct FlakyOnce;

#[async_trait]
impl AgentBackend for FlakyOnce {
    async fn call(&self, request: TaskRequest) -> Reply {
        if request.attempt == 1 {
            TaskOutcome::failure("network", "reset").into()
        } else {
            TaskOutcome::Success(Map::new()).into()
        }
    }
    async fn approve(&self, _request: ApprovalRequest) -> Decision {
        Decision::Granted
    }
}

const RETRYING: &str = "agent A \"a\" {\n  task t \"t\" { timeout 30s }\n}\n\
signal GEN:GO \"go\" {}\nroute go: GEN:GO => w\n\
workflow w \"w\" {\n  s = A.t() retry 1 backoff 1s on [network]\n}\n";

/// The entries of a run of [`RETRYING`] up to attempt 1's failure (a
/// crash during the backoff).
fn crashed_in_backoff(file: &SourceFile, playbook: &Playbook) -> Vec<Entry> {
    let memory = Arc::new(Memory::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    let result = runtime.block_on(crate::runtime::run_recorded(
        request(file, playbook),
        Arc::new(FlakyOnce),
        CancellationToken::new(),
        Some(memory.clone()),
    ));
    assert_eq!(result.status, RunStatus::Complete, "{}", result.summary);
    let entries = crate::sync::lock(&memory.0).clone();
    let cut = entries
        .iter()
        .position(|e| matches!(e, Entry::AttemptEnd(a) if a.attempt == 1))
        .expect("attempt 1 answered");
    entries[..=cut].to_vec()
}

/// When the resumed run sent attempt 2 (ms since the run began).
fn retry_sent_at(appended: &[Entry]) -> u64 {
    appended
        .iter()
        .find_map(|e| match e {
            Entry::Attempt(a) if a.attempt == 2 => Some(a.at_ms),
            _ => None,
        })
        .expect("attempt 2 sent")
}

#[test]
fn a_retry_delay_that_ran_out_during_the_downtime_is_not_waited_again() {
    let (file, playbook) = playbook(RETRYING);
    let kept = crashed_in_backoff(&file, &playbook);
    let history = History::new(&kept).expect("history");
    let journal = Arc::new(Memory::default());
    let appending: Arc<dyn Recorder> = Arc::new(Appending::new(journal.clone(), &history));
    let live = Arc::new(Counting::default());
    // The run began 60 s ago: its 1 s retry delay ran out long ago.
    let origin = SystemTime::now() - Duration::from_secs(60);
    let (result, _, went_live) = replay(
        &file,
        &playbook,
        &kept,
        Mode::Resume(live.clone()),
        origin,
        Some(appending),
    );
    assert!(went_live);
    assert_eq!(result.status, RunStatus::Complete, "{}", result.summary);
    let calls = crate::sync::lock(&live.calls).clone();
    assert_eq!(calls.len(), 1, "only the retry is sent: {calls:?}");
    assert_eq!(calls[0].1, 2);
    let at = retry_sent_at(&crate::sync::lock(&journal.0));
    assert!(
        at >= 60_000,
        "sent on the wall clock's time, not at +1s: {at}"
    );
}

#[test]
fn a_retry_delay_still_running_at_the_resume_keeps_its_original_deadline() {
    let (file, playbook) = playbook(RETRYING);
    let kept = crashed_in_backoff(&file, &playbook);
    let failed_at = kept
        .iter()
        .find_map(|e| match e {
            Entry::AttemptEnd(a) => Some(a.at_ms),
            _ => None,
        })
        .expect("failure");
    let history = History::new(&kept).expect("history");
    let journal = Arc::new(Memory::default());
    let appending: Arc<dyn Recorder> = Arc::new(Appending::new(journal.clone(), &history));
    let live = Arc::new(Counting::default());
    // Resumed the moment attempt 1 failed: all of the 1 s delay is ahead.
    let origin = SystemTime::now() - Duration::from_millis(failed_at);
    let before = std::time::Instant::now();
    let (result, _, _) = replay(
        &file,
        &playbook,
        &kept,
        Mode::Resume(live.clone()),
        origin,
        Some(appending),
    );
    assert_eq!(result.status, RunStatus::Complete, "{}", result.summary);
    let at = retry_sent_at(&crate::sync::lock(&journal.0));
    assert!(at >= failed_at + 1000, "the delay is waited out: {at}");
    assert!(
        before.elapsed() >= Duration::from_millis(900),
        "on the real clock"
    );
}

const APPROVING: &str = "agent A \"a\" {\n  task t \"t\" { timeout 30s }\n}\n\
signal GEN:GO \"go\" {}\nroute go: GEN:GO => w\n\
workflow w \"w\" {\n  approve ship \"Ship it?\"\n    timeout 1h\n    on timeout => fail \"no decision\"\n\
  s = A.t()\n  complete \"done\"\n}\n";

/// A run of [`APPROVING`] stopped while its approval waited, plus
/// `decision` (granted at that many ms) appended by `coordops approve`.
fn waiting_for_approval(
    file: &SourceFile,
    playbook: &Playbook,
    decision: Option<u64>,
) -> Vec<Entry> {
    let (_, entries) = recorded(file, playbook);
    let cut = entries
        .iter()
        .position(|e| matches!(e, Entry::Step(s) if s.kind == "approval"))
        .expect("the approval");
    let mut kept = entries[..cut].to_vec();
    kept.push(Entry::ApprovalWait(crate::runtime::record::ApprovalWait {
        name: "ship".into(),
        step: None,
        message: "Ship it?".into(),
        at_ms: 0,
        deadline_ms: 3_600_000,
        requested_at: String::new(),
        deadline: String::new(),
    }));
    if let Some(at_ms) = decision {
        kept.push(Entry::Decision(crate::runtime::record::ApprovalDecision {
            name: "ship".into(),
            granted: true,
            by: "ann".into(),
            note: None,
            at: String::new(),
            at_ms,
            via: "command".into(),
        }));
    }
    kept
}

/// Resumes [`APPROVING`] `ago` after it started; its status and the
/// number of calls and approvals sent live.
fn resume_approval(decision: Option<u64>, ago: Duration) -> (RunStatus, usize, usize) {
    let (file, playbook) = playbook(APPROVING);
    let kept = waiting_for_approval(&file, &playbook, decision);
    let live = Arc::new(Counting::default());
    let (result, _, _) = replay(
        &file,
        &playbook,
        &kept,
        Mode::Resume(live.clone()),
        SystemTime::now() - ago,
        None,
    );
    let calls = crate::sync::lock(&live.calls).len();
    (result.status, calls, live.approvals.load(Ordering::Relaxed))
}

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn a_recorded_decision_before_the_deadline_decides_the_approval() {
    assert_eq!(
        resume_approval(Some(1_800_000), 2 * HOUR),
        (RunStatus::Complete, 1, 0)
    );
}

#[test]
fn a_decision_after_the_deadline_comes_too_late() {
    assert_eq!(
        resume_approval(Some(5_400_000), 2 * HOUR),
        (RunStatus::Failed, 0, 0)
    );
}

#[test]
fn an_approval_whose_deadline_passed_during_the_downtime_times_out_unasked() {
    assert_eq!(resume_approval(None, 2 * HOUR), (RunStatus::Failed, 0, 0));
}

#[test]
fn an_approval_still_within_its_deadline_is_asked_again() {
    assert_eq!(
        resume_approval(None, Duration::from_secs(60)),
        (RunStatus::Complete, 1, 1)
    );
}

#[test]
fn a_replayed_decision_is_reported_as_recorded() {
    let (file, playbook) = playbook(APPROVING);
    let kept = waiting_for_approval(&file, &playbook, Some(1_800_000));
    let (result, _, _) = replay(
        &file,
        &playbook,
        &kept,
        Mode::Resume(Arc::new(Counting::default())),
        SystemTime::now() - 2 * HOUR,
        None,
    );
    assert_eq!(result.status, RunStatus::Complete);
    let who: Vec<(&str, &str)> = result
        .decisions
        .iter()
        .map(|d| (d.by.as_str(), d.via.as_str()))
        .collect();
    assert_eq!(who, [("ann", "command")]);
}

/// A person decides, and nobody is there: every approval suspends.
struct Nobody;

#[async_trait]
impl AgentBackend for Nobody {
    async fn call(&self, _request: TaskRequest) -> Reply {
        TaskOutcome::Success(Map::new()).into()
    }
    async fn approve(&self, _request: ApprovalRequest) -> Decision {
        Decision::Suspend
    }
    fn approver(&self) -> Approver {
        Approver::Person {
            via: "terminal".into(),
            by: "nobody".into(),
        }
    }
}

#[test]
fn an_undecided_approval_suspends_again_waiting_for_it() {
    let (file, playbook) = playbook(APPROVING);
    let kept = waiting_for_approval(&file, &playbook, None);
    let memory = Arc::new(Memory::default());
    let (result, _, _) = replay(
        &file,
        &playbook,
        &kept,
        Mode::Resume(Arc::new(Nobody)),
        SystemTime::now() - Duration::from_secs(60),
        Some(memory.clone()),
    );
    assert_eq!(result.status, RunStatus::Waiting);
    let names: Vec<&str> = result.waiting_for.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["ship"]);
    let suspended = crate::sync::lock(&memory.0)
        .iter()
        .any(|e| matches!(e, Entry::Suspend(s) if s.waiting_for == ["ship"]));
    assert!(suspended, "the suspend names the approval");
}

/// Fails attempt 1 with a 429 whose `Retry-After` asks for 7 s.
struct RateLimitedOnce;

#[async_trait]
impl AgentBackend for RateLimitedOnce {
    async fn call(&self, request: TaskRequest) -> Reply {
        if request.attempt == 1 {
            let mut reply: Reply = TaskOutcome::failure("too_many_requests", "429").into();
            reply.retry_after = Some(Duration::from_secs(7));
            reply
        } else {
            TaskOutcome::Success(Map::new()).into()
        }
    }
    async fn approve(&self, _request: ApprovalRequest) -> Decision {
        Decision::Granted
    }
}

#[test]
fn a_replay_waits_the_recorded_retry_after_not_the_backoff() {
    let text = RETRYING.replace("[network]", "[too_many_requests]");
    let (file, playbook) = playbook(&text);
    let memory = Arc::new(Memory::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    let original = runtime.block_on(crate::runtime::run_recorded(
        request(&file, &playbook),
        Arc::new(RateLimitedOnce),
        CancellationToken::new(),
        Some(memory.clone()),
    ));
    let entries = crate::sync::lock(&memory.0).clone();
    let asked = entries.iter().find_map(|e| match e {
        Entry::AttemptEnd(a) if a.attempt == 1 => a.retry_after_ms,
        _ => None,
    });
    assert_eq!(asked, Some(7000), "the journal keeps the delay asked for");
    let origin = SystemTime::UNIX_EPOCH + Duration::from_millis(START);
    let (replayed, divergence, _) = replay(
        &file,
        &playbook,
        &entries,
        Mode::Check { complete: true },
        origin,
        None,
    );
    assert_eq!(divergence, None);
    let starts =
        |r: &RunResult| -> Vec<u64> { r.steps[0].attempts.iter().map(|a| a.started_ms).collect() };
    assert_eq!(starts(&original), vec![0, 7000]);
    assert_eq!(starts(&replayed), starts(&original));
}
