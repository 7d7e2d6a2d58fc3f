//! PIM from the command line: your roles and group accesses, activating and deactivating them
//! (with step-up MFA when the policy demands it), requests, approvals, an administrator's
//! assignments, and role settings. Roles are named by display name or id everywhere; groups
//! by display name or id; principals by UPN, display name or id; requests and approvals by
//! id or a unique prefix of one (the tables show the first 8 characters).

/// `println!` that does not panic when the reader went away (`eligo requests | head`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod access;
mod admin;
mod approvals;
mod http;
mod me;
mod policy;
mod target;
pub(super) mod text;

pub(super) use text::when;

use clap::{ArgGroup, Args, Subcommand};

#[derive(Subcommand)]
pub enum PimCommand {
    /// Your roles: eligible and active, until when, and how each comes (directly or via a group).
    Roles {
        /// Print the server's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Activate a role you are eligible for, or a group's membership or ownership (--group).
    ///
    /// Prints when the activation ends, or that it waits for approval (with the request's id).
    /// When the role's policy demands a fresh MFA, you are asked for a TOTP code on the terminal
    /// (or give it with --otp), your session is stepped up and the request is sent once more.
    /// A refusal lists every policy rule it broke and exits non-zero.
    Activate(ActivateArgs),
    /// End your activation of a role (or of a group's membership or ownership) early.
    Deactivate(DeactivateArgs),
    /// Extend your running activation of a role (or group access): it then ends DURATION from
    /// now.
    Extend(ExtendArgs),
    /// Requests for roles and group accesses: yours by default, newest first (ids shown by
    /// their first 8 characters, which commands accept).
    Requests {
        /// Everyone's requests (needs a role that reads role assignments).
        #[arg(long)]
        all: bool,
        /// Only requests with this status (e.g. PendingApproval, Provisioned, Denied).
        #[arg(long)]
        status: Option<String>,
        /// Print the server's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Cancel one of your requests that still waits for approval.
    Cancel {
        /// The request id, or a unique prefix of it (as `eligo requests` shows it).
        id: String,
        /// Print the canceled request's JSON instead of a sentence.
        #[arg(long)]
        json: bool,
    },
    /// Requests waiting on your decision as an approver.
    Approvals {
        /// Print the server's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Approve a request waiting on you (the stage assigned to you).
    Approve(ReviewArgs),
    /// Deny a request waiting on you.
    Deny(ReviewArgs),
    /// Make a principal eligible for a role, or give it the role actively (administrators).
    Assign(AssignArgs),
    /// Remove a principal's eligibility or active assignment (and activations it carries).
    Unassign(UnassignArgs),
    /// Show or change a role's settings (its policy).
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Who can reach a role: everyone who holds it now (standing, or active by activation),
    /// or could activate it (eligible), directly or through groups, with the summary.
    ///
    /// Needs a role that reads role assignments.
    Exposure {
        /// The role: display name or id.
        role: String,
        /// Print the server's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Does a principal hold a role, or a group's membership or ownership, now, and how?
    ///
    /// Prints allowed or not, when the access ends, and every way it comes (an assignment, an
    /// activation, through which groups).
    ///
    /// Exit status: 0 allowed, 1 not allowed, 2 the question could not be answered (not signed
    /// in, an unknown name or id, no permission, no server).
    Check(CheckArgs),
}

#[derive(Args)]
#[command(group(ArgGroup::new("what").required(true).args(["role", "group"])))]
pub struct CheckArgs {
    /// A user (UPN), a group or a service principal (display name), or an id.
    principal: String,
    /// The role: display name or id.
    #[arg(long)]
    role: Option<String>,
    /// The directory scope asked about (with --role).
    #[arg(long, default_value = "/", conflicts_with = "group")]
    scope: String,
    /// The group: display name or id.
    #[arg(long)]
    group: Option<String>,
    /// Which access to the group (with --group).
    #[arg(long, default_value = "member", value_parser = ["member", "owner"], conflicts_with = "role")]
    access: String,
    /// Print the server's JSON instead of sentences.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(group(ArgGroup::new("what").required(true).args(["role", "group"])))]
pub struct ActivateArgs {
    /// The role: display name or id.
    role: Option<String>,
    /// A group whose membership or ownership you are eligible for (PIM for Groups): its
    /// display name or id, as `eligo roles` lists it.
    #[arg(long, value_name = "NAME")]
    group: Option<String>,
    /// Which access to the group (with --group).
    #[arg(long, default_value = "member", value_parser = ["member", "owner"], requires = "group")]
    access: String,
    /// How long: 1h, 30m, 2h30m, or ISO 8601 like PT1H.
    #[arg(long, short = 'd')]
    duration: String,
    /// Why you need it (most policies require it).
    #[arg(long, short = 'j')]
    justification: Option<String>,
    /// A ticket as SYSTEM:NUMBER, e.g. ServiceNow:CHG-4711.
    #[arg(long, value_name = "SYSTEM:NUMBER")]
    ticket: Option<String>,
    /// Start later than now (RFC 3339, e.g. 2026-05-01T09:00:00Z).
    #[arg(long, value_name = "RFC3339")]
    start: Option<String>,
    /// The directory scope (of a role).
    #[arg(long, default_value = "/", conflicts_with = "group")]
    scope: String,
    /// A TOTP code for step-up MFA, used if the policy asks for a fresh MFA (otherwise you
    /// are asked on the terminal).
    #[arg(long)]
    otp: Option<String>,
    /// Print the request's JSON instead of a sentence.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(group(ArgGroup::new("what").required(true).args(["role", "group"])))]
pub struct DeactivateArgs {
    /// The role: display name or id.
    role: Option<String>,
    /// A group whose membership or ownership you activated: its display name or id.
    #[arg(long, value_name = "NAME")]
    group: Option<String>,
    /// Which access to the group (with --group).
    #[arg(long, default_value = "member", value_parser = ["member", "owner"], requires = "group")]
    access: String,
    /// The directory scope of the activation (of a role).
    #[arg(long, default_value = "/", conflicts_with = "group")]
    scope: String,
    /// Print the request's JSON instead of a sentence.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(group(ArgGroup::new("what").required(true).args(["role", "group"])))]
pub struct ExtendArgs {
    /// The role: display name or id.
    role: Option<String>,
    /// A group whose membership or ownership you activated: its display name or id.
    #[arg(long, value_name = "NAME")]
    group: Option<String>,
    /// Which access to the group (with --group).
    #[arg(long, default_value = "member", value_parser = ["member", "owner"], requires = "group")]
    access: String,
    /// The new length, counted from now: 1h, 30m, 2h30m, or ISO 8601 like PT1H.
    #[arg(long, short = 'd')]
    duration: String,
    /// Why (the role's policy may require it).
    #[arg(long, short = 'j')]
    justification: Option<String>,
    /// A ticket as SYSTEM:NUMBER.
    #[arg(long, value_name = "SYSTEM:NUMBER")]
    ticket: Option<String>,
    /// The directory scope (of a role).
    #[arg(long, default_value = "/", conflicts_with = "group")]
    scope: String,
    /// A TOTP code for step-up MFA, used if the policy asks for a fresh MFA.
    #[arg(long)]
    otp: Option<String>,
    /// Print the request's JSON instead of a sentence.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ReviewArgs {
    /// The request id (which is also its approval's id), or a unique prefix of it, as
    /// `eligo approvals` shows it.
    id: String,
    /// Why (most policies require an approver's justification).
    #[arg(long, short = 'j')]
    justification: Option<String>,
    /// The authenticator's current code, when the last one is not fresh (asked for otherwise).
    #[arg(long)]
    otp: Option<String>,
    /// Print the approval's JSON (its stages, and the request's status) instead of a sentence.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(group(ArgGroup::new("kind").required(true).args(["eligible", "active"])))]
#[command(group(ArgGroup::new("end").args(["duration", "until", "permanent"])))]
pub struct AssignArgs {
    /// An eligibility: the principal may activate the role.
    #[arg(long)]
    eligible: bool,
    /// An active assignment: the principal holds the role.
    #[arg(long)]
    active: bool,
    /// The role: display name or id.
    role: String,
    /// A user (UPN), a role-assignable group or a service principal (display name), or an id.
    principal: String,
    /// The directory scope.
    #[arg(long, default_value = "/")]
    scope: String,
    /// How long from the start: 30d, 8h, or ISO 8601 like P90D.
    #[arg(long, short = 'd')]
    duration: Option<String>,
    /// Until this time (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    until: Option<String>,
    /// Without an end (only where the role's policy allows it).
    #[arg(long)]
    permanent: bool,
    /// Start later than now (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    start: Option<String>,
    /// Why (the role's policy may require it).
    #[arg(long, short = 'j')]
    justification: Option<String>,
    /// A ticket as SYSTEM:NUMBER.
    #[arg(long, value_name = "SYSTEM:NUMBER")]
    ticket: Option<String>,
    /// Print the request's JSON instead of a sentence.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(group(ArgGroup::new("kind").required(true).args(["eligible", "active"])))]
pub struct UnassignArgs {
    /// Remove the eligibility.
    #[arg(long)]
    eligible: bool,
    /// Remove the active assignment (and running activations of the role at this scope).
    #[arg(long)]
    active: bool,
    /// The role: display name or id.
    role: String,
    /// A user (UPN), a group or a service principal (display name), or an id.
    principal: String,
    /// The directory scope.
    #[arg(long, default_value = "/")]
    scope: String,
    /// Why (the role's policy may require it).
    #[arg(long, short = 'j')]
    justification: Option<String>,
    /// Print the request's JSON instead of a sentence.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Summarise a role's settings (the directory's, which decide at every scope): durations,
    /// what activation needs, approval and approvers.
    Show {
        /// The role: display name or id.
        role: String,
        /// Print the policy's JSON (with its rules) instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Change a role's settings; only what you give changes. Applies to requests made after.
    Set(PolicySetArgs),
}

#[derive(Args)]
pub struct PolicySetArgs {
    /// The role: display name or id.
    role: String,
    /// The longest activation: 2h, 8h, or ISO 8601 like PT8H.
    #[arg(long, value_name = "DURATION")]
    max_activation: Option<String>,
    /// What activation needs, comma-separated: mfa, justification, ticket; or `none`.
    #[arg(long, value_name = "LIST")]
    require: Option<String>,
    /// Whether activation waits for approval.
    #[arg(long, value_parser = ["on", "off"])]
    approval: Option<String>,
    /// An approver of the (first) approval stage: a UPN, a group's display name, or a user id.
    /// Repeat for several; replaces the stage's approvers.
    #[arg(long, value_name = "UPN")]
    approver: Vec<String>,
    /// How many approvers of the (first) stage must approve (two-person rule: 2).
    #[arg(long, value_name = "N")]
    min_approvals: Option<u32>,
    /// Print the policy's JSON (with its rules) as it is afterwards, instead of a summary.
    #[arg(long)]
    json: bool,
}

pub async fn run(command: PimCommand) -> anyhow::Result<()> {
    // `check` answers in its exit status (0 allowed, 1 not, 2 could not ask), errors included.
    let command = match command {
        PimCommand::Check(a) => std::process::exit(access::check(a).await),
        other => other,
    };
    let pim = http::Pim::open()?;
    match command {
        PimCommand::Roles { json } => me::roles(&pim, json).await,
        PimCommand::Activate(a) => me::activate(&pim, a).await,
        PimCommand::Deactivate(a) => me::deactivate(&pim, a).await,
        PimCommand::Extend(a) => me::extend(&pim, a).await,
        PimCommand::Requests { all, status, json } => {
            me::requests(&pim, all, status.as_deref(), json).await
        }
        PimCommand::Cancel { id, json } => me::cancel(&pim, &id, json).await,
        PimCommand::Approvals { json } => approvals::list(&pim, json).await,
        PimCommand::Approve(a) => approvals::review(&pim, a, true).await,
        PimCommand::Deny(a) => approvals::review(&pim, a, false).await,
        PimCommand::Assign(a) => admin::assign(&pim, a).await,
        PimCommand::Unassign(a) => admin::unassign(&pim, a).await,
        PimCommand::Policy { command } => match command {
            PolicyCommand::Show { role, json } => policy::show(&pim, &role, json).await,
            PolicyCommand::Set(a) => policy::set(&pim, a).await,
        },
        PimCommand::Exposure { role, json } => access::exposure(&pim, &role, json).await,
        PimCommand::Check(_) => unreachable!("answered above"),
    }
}
