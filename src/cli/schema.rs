//! `coordops schema`: the JSON Schemas of the agent protocol, for agent
//! authors (also committed as `docs/agent-request.schema.json` and
//! `docs/agent-reply.schema.json`).

use clap::{Args, ValueEnum};

use super::Exit;
use crate::runtime::protocol;

/// Arguments of `coordops schema`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops schema request > agent-request.schema.json
  coordops schema reply

The request is what an agent process reads on stdin for one attempt; the
reply is what it prints on stdout. See docs/backends.md.")]
pub struct SchemaArgs {
    /// Which message.
    #[arg(value_enum)]
    pub message: Message,
}

/// The protocol's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Message {
    /// What an agent receives on stdin.
    Request,
    /// What an agent answers on stdout.
    Reply,
}

pub(super) fn run(args: &SchemaArgs) -> Exit {
    let text = match args.message {
        Message::Request => protocol::request_schema(),
        Message::Reply => protocol::reply_schema(),
    };
    crate::output::stdout(&text);
    Exit::Success
}
