//! Entitlement management from the command line, a thin client of
//! `/v1/identityGovernance/entitlementManagement`: `eligo access ...` for anyone (the packages
//! I may request, my assignments, requesting, removing, extending, my requests) and
//! `eligo packages ...` for administrators (packages, catalogs, direct assignments, requests,
//! separation-of-duties rules). Packages and catalogs are named by display name (any case) or
//! id; assignments and requests by id or a unique prefix of one; users by UPN or id.

/// `println!` that does not panic when the reader went away (`eligo access list | head`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod admin;
mod approvals;
pub(crate) mod lookup;
mod me;

use clap::{ArgGroup, Args, Subcommand};

#[derive(Subcommand)]
pub enum PackagesTop {
    /// Access packages for yourself: what you may request, what you hold, requesting,
    /// removing and extending it, and your requests.
    Access {
        #[command(subcommand)]
        command: AccessCommand,
    },
    /// Administer access packages and catalogs (Identity Governance Administrator or Global
    /// Administrator, with a fresh second factor for changes).
    Packages {
        #[command(subcommand)]
        command: PackagesCommand,
    },
}

#[derive(Subcommand)]
pub enum AccessCommand {
    /// The packages you may request, and your assignments (active or waiting) with their end.
    List {
        /// Print the server's JSON (`requestable` and `assignments`) instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Request a package for yourself. Prints whether it was delivered (and until when) or
    /// waits for approval (with the request's id); a refusal lists every broken rule.
    Request(RequestArgs),
    /// Give up an assignment of yours before it ends (its access goes at once).
    Remove {
        /// The package (display name or id), or the assignment's id or a prefix of it.
        what: String,
        /// Print the request's JSON instead of a sentence.
        #[arg(long)]
        json: bool,
    },
    /// Ask for your assignment to end later (the policy decides, as for a new request).
    Extend(ExtendArgs),
    /// Your requests, newest first (ids shown by their first 8 characters).
    Requests {
        /// Print the server's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Cancel one of your requests that still waits for approval.
    Cancel {
        /// The request id, or a unique prefix of it (as `eligo access requests` shows it).
        id: String,
        /// Print the server's answer as JSON instead of a sentence.
        #[arg(long)]
        json: bool,
    },
    /// Access package requests waiting on your decision as an approver.
    Approvals {
        /// Print the server's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Approve the stage of a request that waits on you (needs a fresh second factor: give
    /// --otp, or run eligo mfa stepup first).
    Approve(DecideArgs),
    /// Deny the stage of a request that waits on you.
    Deny(DecideArgs),
}

#[derive(Args)]
pub struct DecideArgs {
    /// The request id, or a unique prefix of it (as `eligo access approvals` shows it).
    id: String,
    /// Why (the policy may require the approver's justification).
    #[arg(long, short = 'j')]
    justification: Option<String>,
    /// The authenticator's current code, to prove a fresh second factor first.
    #[arg(long)]
    otp: Option<String>,
    /// Print the approval's JSON instead of a sentence.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(group(ArgGroup::new("until").args(["end", "duration"])))]
pub struct RequestArgs {
    /// The package: display name or id (`eligo access list` shows those you may request).
    package: String,
    /// Why you need it (most policies require it).
    #[arg(long, short = 'j')]
    justification: Option<String>,
    /// The policy to ask under (display name or id) when the package has several for you.
    #[arg(long)]
    policy: Option<String>,
    /// An answer to one of the policy's questions: QUESTION=VALUE, QUESTION being the
    /// question's id or its text. Repeat for several.
    #[arg(long, value_name = "QUESTION=VALUE")]
    answer: Vec<String>,
    /// Start later than now (RFC 3339; only where the policy lets you choose the schedule).
    #[arg(long, value_name = "RFC3339")]
    start: Option<String>,
    /// End at this time (RFC 3339; where the policy lets you choose the schedule).
    #[arg(long, value_name = "RFC3339")]
    end: Option<String>,
    /// Last this long: 8h, 7d, or ISO 8601 like P7D (where the policy lets you choose).
    #[arg(long, short = 'd')]
    duration: Option<String>,
    /// Print the request's JSON instead of a sentence.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(group(ArgGroup::new("until").required(true).args(["end", "duration"])))]
pub struct ExtendArgs {
    /// The package (display name or id), or the assignment's id or a prefix of it.
    what: String,
    /// The new end (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    end: Option<String>,
    /// The new length, counted from now: 7d, 30d, or ISO 8601 like P30D.
    #[arg(long, short = 'd')]
    duration: Option<String>,
    /// Why (the policy may require it).
    #[arg(long, short = 'j')]
    justification: Option<String>,
    /// Print the request's JSON instead of a sentence.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum PackagesCommand {
    /// Every access package (of one catalog), with its catalog.
    List {
        /// Only the packages of this catalog (display name or id).
        #[arg(long)]
        catalog: Option<String>,
        /// Print the server's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One package: its catalog, what it hands out, its policies and its incompatibilities.
    Show {
        /// The package: display name or id.
        package: String,
        /// Print the server's JSON instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Create a package in a catalog, handing out membership of the groups given (each is
    /// added to the catalog first if it is not in it yet).
    Create(CreateArgs),
    /// Delete a package (refused while it has assignments).
    Delete {
        /// The package: display name or id.
        package: String,
    },
    /// Catalogs: list, create, delete, add a group.
    Catalogs {
        #[command(subcommand)]
        command: CatalogsCommand,
    },
    /// Assign a package to a user directly (adminAdd: no approval, under one of its policies).
    Assign(AssignArgs),
    /// Remove a user's assignment of a package (adminRemove: the access goes at once).
    Unassign {
        /// The package: display name or id.
        package: String,
        /// The user: UPN or id.
        user: String,
        /// Print the request's JSON instead of a sentence.
        #[arg(long)]
        json: bool,
    },
    /// Every request for a package, newest first: who, what, state.
    Requests {
        /// The package: display name or id.
        package: String,
        /// Print the server's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// A package's separation-of-duties rules (incompatible packages and groups) and who holds
    /// it together with something incompatible; --add/--remove change the package rules.
    Conflicts(ConflictsArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    /// The new package's display name.
    name: String,
    /// Its catalog: display name or id.
    #[arg(long)]
    catalog: String,
    /// What it is for.
    #[arg(long)]
    description: Option<String>,
    /// A group whose membership it hands out: display name or id. Repeat for several.
    #[arg(long, value_name = "GROUP")]
    group: Vec<String>,
    /// An assignment policy to create with it: a JSON file in Graph's shape (its
    /// accessPackage is filled in).
    #[arg(long, value_name = "FILE")]
    policy_file: Option<std::path::PathBuf>,
    /// Print the package's JSON instead of a sentence.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum CatalogsCommand {
    /// Every catalog.
    List {
        /// Print the server's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a catalog.
    Create {
        /// Its display name.
        name: String,
        /// What it is for.
        #[arg(long)]
        description: Option<String>,
        /// Print the catalog's JSON instead of a sentence.
        #[arg(long)]
        json: bool,
    },
    /// Delete a catalog (refused while it has packages).
    Delete {
        /// The catalog: display name or id.
        catalog: String,
    },
    /// Add a group to a catalog, so that its packages may hand out the group's membership.
    AddGroup {
        /// The catalog: display name or id.
        catalog: String,
        /// The group: display name or id.
        group: String,
    },
}

#[derive(Args)]
#[command(group(ArgGroup::new("until").args(["end", "duration"])))]
pub struct AssignArgs {
    /// The package: display name or id.
    package: String,
    /// The user: UPN or id.
    user: String,
    /// The policy (display name or id) when the package has several.
    #[arg(long)]
    policy: Option<String>,
    /// End at this time (RFC 3339); otherwise as the policy says.
    #[arg(long, value_name = "RFC3339")]
    end: Option<String>,
    /// Last this long: 30d, or ISO 8601 like P30D.
    #[arg(long, short = 'd')]
    duration: Option<String>,
    /// Why.
    #[arg(long, short = 'j')]
    justification: Option<String>,
    /// Print the request's JSON instead of a sentence.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ConflictsArgs {
    /// The package: display name or id.
    package: String,
    /// Declare this package (display name or id) incompatible with it.
    #[arg(long, value_name = "PACKAGE")]
    add: Option<String>,
    /// Withdraw the rule against this package (display name or id).
    #[arg(long, value_name = "PACKAGE", conflicts_with = "add")]
    remove: Option<String>,
    /// Print the server's JSON instead of tables.
    #[arg(long)]
    json: bool,
}

pub async fn run(command: PackagesTop) -> anyhow::Result<()> {
    let em = lookup::Em::open()?;
    match command {
        PackagesTop::Access { command } => match command {
            AccessCommand::List { json } => me::list(&em, json).await,
            AccessCommand::Request(a) => me::request(&em, a).await,
            AccessCommand::Remove { what, json } => me::remove(&em, &what, json).await,
            AccessCommand::Extend(a) => me::extend(&em, a).await,
            AccessCommand::Requests { json } => me::requests(&em, json).await,
            AccessCommand::Cancel { id, json } => me::cancel(&em, &id, json).await,
            AccessCommand::Approvals { json } => approvals::list(&em, json).await,
            AccessCommand::Approve(a) => approvals::decide(&em, a, true).await,
            AccessCommand::Deny(a) => approvals::decide(&em, a, false).await,
        },
        PackagesTop::Packages { command } => admin::run(&em, command).await,
    }
}
