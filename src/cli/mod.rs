//! The client half of the `hookd` binary: subcommands that call a running hookd over its HTTP
//! API (accounts, tokens, webhooks, events, deliveries, backup), `healthcheck` for images
//! without a shell or curl, `verify` for receivers checking a signature by hand, and
//! `receive`, a local receiver for trying webhooks on one machine.
//!
//! This module holds the clap definitions and the dispatch; `main.rs` flattens [`Command`]
//! beside `serve` and calls [`run`]. The network and the user may both be wrong, so every
//! failure ends as a message on stderr and an exit code, never a panic: 2 for a command line
//! that cannot work (as clap's own errors), 1 for everything else.

mod backup;
mod commands;
mod health;
mod http;
mod output;
mod receive;
mod signal;
mod store;
mod table;
mod verify;
mod views;
mod webhook;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{ArgGroup, Args, Subcommand};

pub use http::DEFAULT_SERVER;
pub use signal::termination;

/// The client subcommands of `hookd`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and list accounts (admin token).
    Account {
        #[command(flatten)]
        api: ApiArgs,
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Create and list an account's API tokens (admin token).
    Token {
        #[command(flatten)]
        api: ApiArgs,
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Create, list, change and test an account's webhooks.
    Webhook {
        #[command(flatten)]
        api: ApiArgs,
        #[command(subcommand)]
        command: WebhookCommand,
    },
    /// Send an event, or show one with its deliveries.
    Event {
        #[command(flatten)]
        api: ApiArgs,
        #[command(subcommand)]
        command: EventCommand,
    },
    /// List and retry deliveries.
    Delivery {
        #[command(flatten)]
        api: ApiArgs,
        #[command(subcommand)]
        command: DeliveryCommand,
    },
    /// Save a consistent snapshot of the live store to FILE (admin token). Restore: stop
    /// hookd, put the file at <data_dir>/hookd.redb, start.
    Backup(BackupArgs),
    /// Offline work on a whole store, with hookd stopped on both sides.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Exit 0 when the server answers GET /healthz with 200 within 2 s, else 1 (no token).
    Healthcheck(HealthcheckArgs),
    /// Check a received request's Standard Webhooks signature; print `verified` or why not.
    Verify(VerifyArgs),
    /// Run a local receiver for trying webhooks: answer 200 to every POST and print it (with
    /// --secret, whether its signature verifies). Ctrl-C stops it.
    Receive(ReceiveArgs),
}

/// Where the server is and which token to use. Global within a command group, so the
/// options may stand before or after the subcommand's arguments.
#[derive(Debug, Clone, Args)]
pub struct ConnArgs {
    /// Base URL of the hookd server.
    #[arg(
        long,
        global = true,
        env = "HOOKD_SERVER",
        default_value = DEFAULT_SERVER,
        value_name = "URL"
    )]
    pub server: String,
    /// API token: the admin token, or an account token for that account's routes.
    #[arg(
        long,
        global = true,
        env = "HOOKD_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
}

/// [`ConnArgs`] plus the output mode of commands that print API resources.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Print the API's response body as received (a list: its page object) instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Paging options of list commands (`limit`, `cursor`: docs/api.md, "Pagination").
#[derive(Debug, Clone, Args)]
pub struct PageArgs {
    /// Items per page (1–200; the server's default is 50).
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    /// Continue after a previous page (its `nextCursor`).
    #[arg(long, value_name = "CURSOR")]
    pub cursor: Option<String>,
}

/// `hookd account …`.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account.
    Create {
        /// Display name, e.g. "Cool Account".
        name: String,
        /// Your own id for it (1–64 of A-Z a-z 0-9 _ -); generated when absent.
        #[arg(long)]
        id: Option<String>,
        /// The language of its notifications and activation pages: en (the default), de, da,
        /// nb or pt.
        #[arg(long)]
        language: Option<String>,
    },
    /// List accounts.
    List {
        #[command(flatten)]
        page: PageArgs,
    },
}

/// `hookd token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for ACCOUNT; the token is shown this once.
    Create {
        /// The account's id.
        account: String,
        /// What the token is for, e.g. "booking backend".
        #[arg(long)]
        name: Option<String>,
    },
    /// List ACCOUNT's tokens (never the tokens themselves).
    List {
        /// The account's id.
        account: String,
        #[command(flatten)]
        page: PageArgs,
    },
}

/// `hookd webhook …`.
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Create a webhook; its signing secret is shown in the answer.
    // The receiver options belong to `update`'s "change" group; here it only gathers them.
    #[command(group(ArgGroup::new("change").multiple(true)))]
    Create {
        /// The account's id.
        account: String,
        /// Name of the webhook.
        #[arg(long)]
        name: String,
        /// Where deliveries are POSTed.
        #[arg(long, value_name = "URL")]
        url: String,
        /// An event type or pattern (`booking.created`, `booking.*`, `*`); repeat for more.
        #[arg(long = "event", value_name = "TYPE", required = true)]
        events: Vec<String>,
        /// The signing secret (`whsec_` + base64 of 24–64 bytes); generated when absent.
        #[arg(long, value_name = "whsec_…")]
        secret: Option<String>,
        #[command(flatten)]
        receiver: Box<ReceiverArgs>,
    },
    /// List ACCOUNT's webhooks.
    List {
        /// The account's id.
        account: String,
        /// Only the webhook with exactly this name.
        #[arg(long)]
        name: Option<String>,
        /// Only webhooks whose event list matches this event type.
        #[arg(long = "event", value_name = "TYPE")]
        event: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Change a webhook; what is not given is kept.
    #[command(group(ArgGroup::new("change").required(true).multiple(true)))]
    Update {
        /// The account's id.
        account: String,
        /// The webhook's id.
        id: String,
        /// New name.
        #[arg(long, group = "change")]
        name: Option<String>,
        /// New URL.
        #[arg(long, value_name = "URL", group = "change")]
        url: Option<String>,
        /// The new event list (replaces the old one); repeat for more.
        #[arg(long = "event", value_name = "TYPE", group = "change")]
        events: Vec<String>,
        /// Enable or disable deliveries.
        #[arg(long, value_name = "true|false", group = "change")]
        enabled: Option<bool>,
        #[command(flatten)]
        receiver: Box<ReceiverArgs>,
        /// Stop authenticating to the receiver.
        #[arg(long, group = "change", conflicts_with_all = AUTH_ARGS)]
        no_auth: bool,
        /// Deliver every subscribed event again (remove the filter).
        #[arg(long, group = "change", conflicts_with = "filter")]
        no_filter: bool,
        /// Send the standard envelope again (remove the template).
        #[arg(long, group = "change", conflicts_with_all = ["template_preset", "template_file"])]
        no_template: bool,
    },
    /// Delete a webhook; its pending and buffered deliveries are cancelled.
    Delete {
        /// The account's id.
        account: String,
        /// The webhook's id.
        id: String,
    },
    /// Activate a deactivated webhook.
    Activate {
        /// The account's id.
        account: String,
        /// The webhook's id.
        id: String,
        /// Also deliver the events buffered while it was deactivated.
        #[arg(long)]
        replay: bool,
    },
    /// Give a webhook a new secret; the old one keeps signing beside it for 24 hours.
    RotateSecret {
        /// The account's id.
        account: String,
        /// The webhook's id.
        id: String,
    },
    /// Send a `hookd.ping` test event to this webhook alone.
    Test {
        /// The account's id.
        account: String,
        /// The webhook's id.
        id: String,
    },
}

/// The flags that choose an auth type.
const AUTH_ARGS: [&str; 4] = ["auth_basic", "auth_bearer", "auth_oauth2", "auth_mtls_cert"];

/// The receiver-side options of `webhook create` and `webhook update`: how hookd
/// authenticates to the receiver, which events it gets, the body it gets, how it is signed.
#[derive(Debug, Clone, Default, Args)]
pub struct ReceiverArgs {
    /// HTTP Basic authentication (split at the first colon).
    #[arg(long, value_name = "USER:PASS", group = "change", conflicts_with_all = ["auth_bearer", "auth_oauth2", "auth_mtls_cert"])]
    pub auth_basic: Option<String>,
    /// A bearer token sent with every delivery.
    #[arg(long, value_name = "TOKEN", group = "change", conflicts_with_all = ["auth_oauth2", "auth_mtls_cert"])]
    pub auth_bearer: Option<String>,
    /// OAuth 2.0 client credentials from this token endpoint (with --client-id and
    /// --client-secret).
    #[arg(
        long,
        value_name = "TOKEN_URL",
        group = "change",
        conflicts_with = "auth_mtls_cert"
    )]
    pub auth_oauth2: Option<String>,
    /// The OAuth 2.0 client id.
    #[arg(long, value_name = "ID", requires = "auth_oauth2")]
    pub client_id: Option<String>,
    /// The OAuth 2.0 client secret (on update, omitted: the stored one is kept).
    #[arg(long, value_name = "SECRET", requires = "auth_oauth2")]
    pub client_secret: Option<String>,
    /// The OAuth 2.0 scope to ask for.
    #[arg(long, requires = "auth_oauth2")]
    pub scope: Option<String>,
    /// The audience to ask a token for.
    #[arg(long, requires = "auth_oauth2")]
    pub audience: Option<String>,
    /// A client certificate (PEM chain) presented to the receiver.
    #[arg(long, value_name = "FILE", group = "change")]
    pub auth_mtls_cert: Option<PathBuf>,
    /// The certificate's private key (unencrypted PEM; on update, omitted: the stored one is
    /// kept).
    #[arg(long, value_name = "FILE", requires = "auth_mtls_cert")]
    pub auth_mtls_key: Option<PathBuf>,
    /// A CEL expression: only subscribed events for which it is true are delivered.
    #[arg(long, value_name = "EXPR", group = "change")]
    pub filter: Option<String>,
    /// A chat body instead of the envelope.
    #[arg(
        long,
        value_name = "slack|discord",
        group = "change",
        conflicts_with = "template_file"
    )]
    pub template_preset: Option<String>,
    /// A Jinja body template read from FILE.
    #[arg(long, value_name = "FILE", group = "change")]
    pub template_file: Option<PathBuf>,
    /// The content type of the --template-file body (default application/json).
    #[arg(long, value_name = "TYPE", requires = "template_file")]
    pub content_type: Option<String>,
    /// The signatures each delivery carries.
    #[arg(long, value_name = "v1|v1a|\"v1 v1a\"", group = "change")]
    pub signature: Option<String>,
}

/// `hookd event …`.
#[derive(Debug, Subcommand)]
pub enum EventCommand {
    /// Send an event of TYPE to ACCOUNT's matching webhooks.
    Send {
        /// The account's id.
        account: String,
        /// The event type, e.g. `booking.created`.
        #[arg(value_name = "TYPE")]
        event_type: String,
        /// The event's data: inline JSON, or @FILE to read it from a file. Sent byte for byte.
        #[arg(long, value_name = "JSON|@FILE", allow_hyphen_values = true)]
        data: String,
    },
    /// Show an event, its data and its deliveries.
    Show {
        /// The account's id.
        account: String,
        /// The event's id.
        id: String,
    },
}

/// `hookd delivery …`.
#[derive(Debug, Subcommand)]
pub enum DeliveryCommand {
    /// List ACCOUNT's deliveries, newest first.
    List {
        /// The account's id.
        account: String,
        /// Only deliveries to this webhook.
        #[arg(long, value_name = "ID")]
        webhook: Option<String>,
        /// Only deliveries in this status (pending, succeeded, failed, buffered, cancelled,
        /// expired).
        #[arg(long, value_name = "STATUS")]
        status: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Schedule a delivery again now.
    Retry {
        /// The account's id.
        account: String,
        /// The delivery's id.
        id: String,
    },
}

/// `hookd store …`.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy a whole store into an empty one: accounts, tokens, webhooks with their secrets,
    /// events, deliveries with their attempts, the buffer, the due-queue, notifications,
    /// idempotency keys, the admin token hash and the signing key (so cursors, activation
    /// links and signatures keep working). Prints `<kind> <count>` per record kind. Refuses,
    /// changing nothing, when TO holds any record.
    Copy {
        /// Where the store is: `redb:/path/to/data_dir` or a `postgres://…` URL.
        #[arg(value_name = "FROM")]
        from: String,
        /// Where it goes (empty): `redb:/path/to/data_dir` or a `postgres://…` URL.
        #[arg(value_name = "TO")]
        to: String,
    },
}

/// `hookd backup FILE`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the snapshot (replaced atomically: written beside it, then renamed).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `hookd healthcheck`.
#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// Base URL to check; else the listen address of the configuration (HOOKD_LISTEN,
    /// --config / HOOKD_CONFIG).
    #[arg(long, env = "HOOKD_SERVER", value_name = "URL")]
    pub server: Option<String>,
}

/// `hookd verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The webhook's signing secret (`whsec_…`), for `v1` signatures.
    #[arg(
        long,
        env = "HOOKD_WEBHOOK_SECRET",
        hide_env_values = true,
        value_name = "whsec_…",
        required_unless_present = "public_key"
    )]
    pub secret: Option<String>,
    /// The webhook's public key (`whpk_…`), for `v1a` (Ed25519) signatures. With both, a
    /// request verifies when either scheme's signature matches.
    #[arg(long, env = "HOOKD_WEBHOOK_PUBLIC_KEY", value_name = "whpk_…")]
    pub public_key: Option<String>,
    /// A received header, "Name: value"; repeat for webhook-id, webhook-timestamp and
    /// webhook-signature (others are ignored).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = verify::parse_header)]
    pub headers: Vec<(String, String)>,
    /// File holding the received body, byte for byte; standard input when absent.
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
}

/// `hookd receive`.
#[derive(Debug, Args)]
pub struct ReceiveArgs {
    /// Address to listen on (port 0: any free port; the address is printed at start).
    #[arg(
        long,
        env = "HOOKD_RECEIVE_LISTEN",
        default_value = "127.0.0.1:9000",
        value_name = "ADDR"
    )]
    pub listen: SocketAddr,
    /// The webhook's signing secret (`whsec_…`): each delivery's signature is checked with it.
    #[arg(
        long,
        env = "HOOKD_WEBHOOK_SECRET",
        hide_env_values = true,
        value_name = "whsec_…"
    )]
    pub secret: Option<String>,
    /// The webhook's public key (`whpk_…`, for `v1a` signatures): each delivery's signature is
    /// checked with it.
    #[arg(long, env = "HOOKD_WEBHOOK_PUBLIC_KEY", value_name = "whpk_…")]
    pub public_key: Option<String>,
}

/// Why a client command failed; decides the message and the exit code.
#[derive(Debug)]
pub enum Failure {
    /// The command line cannot work as given (exit 2, like clap's own usage errors).
    Usage(String),
    /// The API answered with an error status; the body is shown as a problem (exit 1).
    Api { status: u16, body: Vec<u8> },
    /// Anything else: server unreachable, file unreadable, unexpected answer (exit 1).
    Other(String),
}

impl Failure {
    /// Prints the failure to stderr and returns the exit code.
    fn report(self) -> ExitCode {
        match self {
            Failure::Usage(message) => {
                eprintln!("hookd: {message}");
                ExitCode::from(2)
            }
            Failure::Api { status, body } => {
                http::print_problem(status, &body);
                ExitCode::FAILURE
            }
            Failure::Other(message) => {
                eprintln!("hookd: {message}");
                ExitCode::FAILURE
            }
        }
    }
}

/// Runs one client command. `config_file` is the global `--config`, which only
/// `healthcheck` reads (to find the listen address).
pub fn run(command: Command, config_file: Option<&Path>) -> ExitCode {
    let result = match command {
        Command::Account { api, command } => commands::account(&api, command),
        Command::Token { api, command } => commands::token(&api, command),
        Command::Webhook { api, command } => webhook::run(&api, command),
        Command::Event { api, command } => commands::event(&api, command),
        Command::Delivery { api, command } => commands::delivery(&api, command),
        Command::Backup(args) => backup::run(&args),
        Command::Store { command } => store::run(command),
        Command::Healthcheck(args) => return health::run(&args, config_file),
        Command::Verify(args) => verify::run(&args),
        Command::Receive(args) => receive::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
