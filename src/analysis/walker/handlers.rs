//! Step options and `on …` handlers (of steps, approvals and escalation rules).

use std::collections::BTreeMap;

use crate::ast::{DurationLit, Handler, HandlerAction, Span, StepOption};
use crate::diagnostics::{codes, Diagnostic};

use super::super::policy::Inherited;
use super::super::scope;
use super::super::symbols::duplicate_setting;
use super::super::types::{self, Env, Root};
use super::super::{suggest, values};
use super::{Enclosing, HandlerSite, Walker};

impl<'a> Walker<'a, '_> {
    pub(super) fn handler(&mut self, handler: &Handler, env: &Env<'_, '_>, site: HandlerSite) {
        let allowed: &[&str] = match site {
            HandlerSite::Step => &["failure", "timeout", "exhausted"],
            HandlerSite::Approval => &["denied", "timeout"],
            HandlerSite::TopLevel => &["failure", "timeout", "exhausted", "gate_failed", "denied"],
        };
        let event = &handler.event;
        if !allowed.contains(&event.name.as_str()) {
            let place = match site {
                HandlerSite::Step => "after a step",
                HandlerSite::Approval => "after `approve`",
                HandlerSite::TopLevel => "in an escalation rule",
            };
            self.out.push(
                Diagnostic::error(
                    codes::CHECK_INVALID_HANDLER,
                    format!("`on {}` cannot happen {place}", event.name),
                )
                .with_primary(event.span, "unknown event here")
                .with_help(format!(
                    "{}events here: {}",
                    suggest::closest(&event.name, allowed.iter().copied())
                        .map(|b| format!("did you mean `{b}`? "))
                        .unwrap_or_default(),
                    allowed
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
        } else if !handler.kinds.is_empty()
            && !matches!(event.name.as_str(), "failure" | "exhausted")
        {
            self.out.push(
                Diagnostic::error(
                    codes::CHECK_INVALID_HANDLER,
                    format!("`{}` takes no failure kinds", event.name),
                )
                .with_primary(
                    handler.kinds[0].span,
                    "kinds only narrow `failure(…)` and `exhausted(…)`",
                ),
            );
        }
        let written = match site {
            HandlerSite::Step => scope::Written::Step,
            HandlerSite::Approval => scope::Written::Approval,
            HandlerSite::TopLevel => scope::Written::Rule,
        };
        let kinds: Vec<&str> = handler.kinds.iter().map(|k| k.name.as_str()).collect();
        let sites: std::rc::Rc<[scope::Site]> =
            scope::sites(written, &event.name, &kinds, self.present).into();
        let mut env = env
            .clone()
            .with("step", Root::Builtin(scope::Object::Step, sites.clone()));
        if site == HandlerSite::TopLevel {
            env.bind("gate", Root::Builtin(scope::Object::Gate, sites));
        }
        if let Some(guard) = &handler.guard {
            types::condition(&env, guard, self.out);
            if site == HandlerSite::TopLevel && event.name == "gate_failed" {
                scope::unknown_groups(guard, &self.groups, self.out);
            }
        }
        if let Some(call) = &handler.recovery {
            self.call(call, &env);
        }
        match &handler.action {
            HandlerAction::Retry { span } | HandlerAction::Continue { span }
                if site != HandlerSite::Step =>
            {
                let word = if matches!(handler.action, HandlerAction::Retry { .. }) {
                    "retry"
                } else {
                    "continue"
                };
                self.out.push(
                    Diagnostic::error(
                        codes::CHECK_INVALID_HANDLER,
                        format!("`{word}` only makes sense after an agent step"),
                    )
                    .with_primary(*span, "not allowed here")
                    .with_help(
                        "escalation rules and approvals end with `escalate`, `fail` or `abort`",
                    ),
                );
            }
            HandlerAction::Retry { span } if event.name == "exhausted" => {
                self.out.push(
                    Diagnostic::error(
                        codes::CHECK_INVALID_HANDLER,
                        "`on exhausted => retry`: the retries are already used up",
                    )
                    .with_primary(*span, "no retry is left")
                    .with_help(
                        "raise the policy's `retry N`, or end the step with `continue`, `escalate`, `fail` or `abort`",
                    ),
                );
            }
            HandlerAction::Retry { .. } | HandlerAction::Continue { .. } => {}
            HandlerAction::Escalate(e) => self.escalate(e, &env),
            HandlerAction::Fail(f) => {
                self.string(&f.message, &env);
                if let Some(d) = &f.details {
                    types::infer(&env, d, self.out);
                }
            }
            HandlerAction::Abort(a) => self.string(&a.reason, &env),
        }
    }

    pub(super) fn options(
        &mut self,
        options: &[StepOption],
        env: &Env<'_, '_>,
        site: HandlerSite,
        inherited: Option<&Inherited<'a>>,
        enclosing: Option<Enclosing>,
    ) {
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        for option in options {
            let name = match option {
                StepOption::Timeout(_) => Some("timeout"),
                StepOption::Retry(_) => Some("retry"),
                StepOption::When(_) => Some("when"),
                StepOption::Lock(_) => Some("lock"),
                StepOption::Critical { .. } => Some("critical"),
                StepOption::Handler(_) => None,
            };
            if let Some(name) = name {
                if let Some(first) = seen.get(name) {
                    self.out
                        .push(duplicate_setting(name, option.span(), *first));
                } else {
                    seen.insert(name, option.span());
                }
            }
            match option {
                StepOption::Timeout(d) => values::timeout(d, self.out),
                StepOption::Retry(r) => {
                    if site == HandlerSite::Approval {
                        self.out.push(
                            Diagnostic::error(
                                codes::CHECK_INVALID_HANDLER,
                                "an approval cannot be retried",
                            )
                            .with_primary(r.span, "not allowed on `approve`")
                            .with_help("handle `on denied` or `on timeout` instead"),
                        );
                    }
                    values::retry(r, self.out);
                }
                StepOption::When(e) => types::condition(env, e, self.out),
                StepOption::Lock(l) => self.lock(l),
                StepOption::Critical { .. } => {}
                StepOption::Handler(h) => self.handler(h, env, site),
            }
        }
        // A timeout longer than the enclosing group's or workflow's.
        let explicit: Option<(u64, Span, &str)> =
            match crate::analysis::policy::option_timeout(options) {
                Some(d) => Some((d.millis, d.span, "this step's timeout")),
                None => inherited
                    .and_then(|i| i.task)
                    .and_then(|t| crate::analysis::policy::setting_timeout(&t.settings))
                    .map(|d: &DurationLit| (d.millis, d.span, "the task's timeout")),
            };
        if let (Some((millis, span, what)), Some(enc)) = (explicit, enclosing) {
            if millis > enc.millis {
                let primary = options
                    .iter()
                    .find_map(|o| matches!(o, StepOption::Timeout(_)).then(|| o.span()))
                    .unwrap_or(span);
                let mut d = Diagnostic::error(
                    codes::CHECK_TIMEOUT_EXCEEDS,
                    format!(
                        "{what} ({}) is longer than {} timeout ({})",
                        super::super::policy::format_duration(millis),
                        enc.what,
                        super::super::policy::format_duration(enc.millis)
                    ),
                )
                .with_primary(primary, "too long")
                .with_secondary(enc.span, "enclosing timeout")
                .with_help("the enclosing timeout cuts the step short; shorten the step's timeout or lengthen the enclosing one");
                if primary != span || what == "the task's timeout" {
                    d = d.with_secondary(span, "set here");
                }
                self.out.push(d);
            }
        }
    }
}
