//! The `kindred` command line: serve, migrate, and the administration commands. Each command
//! loads the configuration once and calls into the library.

use clap::{Parser, Subcommand};
use kindred::{
    accounts::{
        sessions::random_token,
        users::{self, NewUser},
    },
    config::Config,
    crypto::KeypairSource,
    database,
    federation::delivery,
    groups::directory::{self, NewGroup},
};
use kindred_entities::user::UserState;
use std::{io::BufRead, path::PathBuf, process::ExitCode};

#[derive(Parser)]
#[command(
    name = "kindred",
    version,
    about = "A federated ActivityPub group server"
)]
struct Cli {
    /// A TOML file whose keys override config/defaults.toml (KINDRED_* variables override both).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: HTTP, federation and delivery, until Ctrl-C or SIGTERM.
    Serve {
        /// First create the group @welcome (unless it exists), so a fresh instance has a group
        /// to look at.
        #[arg(long)]
        example_group: bool,
    },
    /// Run only the delivery worker (several may share one PostgreSQL database).
    Worker,
    /// Bring the database schema up to date, then exit.
    Migrate,
    /// Show the outgoing delivery queue, or put held deliveries back in it.
    Deliveries {
        #[command(subcommand)]
        action: Option<DeliveriesCommand>,
    },
    /// Create and list this instance's groups.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Create, list, approve and disable local accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Block or unblock other servers (see also federation.allowlist).
    #[command(subcommand)]
    Instance(InstanceCommand),
}

#[derive(Subcommand)]
enum InstanceCommand {
    /// Refuse a server: its requests get 403, nothing is delivered to it, its posts are hidden.
    Block {
        /// The host, with its port if it has one (lemmy.example).
        host: String,
    },
    /// Federate with a blocked server again.
    Unblock { host: String },
    /// List blocked servers (and the allowlist, if one is set).
    List,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account (active at once, whatever the registration mode). Prints a random
    /// initial password unless --password-stdin gives one.
    Create {
        /// The handle: lower-case letters, digits and underscores.
        name: String,
        /// Make the account an instance administrator.
        #[arg(long)]
        admin: bool,
        #[arg(long)]
        email: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List every account with its role and state.
    List,
    /// Approve a pending registration, or re-enable a disabled account.
    Enable { name: String },
    /// Stop an account from signing in and end its sessions.
    Disable { name: String },
    /// Remove an account for good: marked deleted, the servers of its groups told.
    Remove { name: String },
}

#[derive(Subcommand)]
enum DeliveriesCommand {
    /// Requeue parked and abandoned deliveries (of one server, or all) and clear the servers'
    /// backoff and dead marks.
    Retry {
        /// Only deliveries to this host (with its port, if it has one).
        #[arg(long, value_name = "HOST")]
        instance: Option<String>,
    },
}

#[derive(Subcommand)]
enum GroupCommand {
    /// Create a group, reachable as @NAME@your-domain.
    Create {
        /// The handle: lower-case letters, digits and underscores.
        name: String,
        /// The title shown to people.
        #[arg(long)]
        title: String,
        /// What the group is about, in markdown.
        #[arg(long)]
        summary: Option<String>,
    },
    /// List this instance's groups.
    List,
    /// Remove a group: marked deleted, its members' servers told (by the running server's
    /// delivery worker).
    Remove { name: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    // A server logs what `log.filter` says; an administration command prints what it was
    // asked, and warnings.
    let filter = match cli.command {
        Command::Serve { .. } | Command::Worker => config.log.filter.as_str(),
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        kindred::config::LogFormat::Json => logs.json().init(),
        kindred::config::LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // On the command line the operator may see the whole cause, unlike a remote peer.
            eprintln!("kindred: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> kindred::error::Result<()> {
    match command {
        Command::Serve { example_group } => {
            if example_group {
                create_example_group(&config).await?;
            }
            kindred::app::serve(config).await
        }
        Command::Worker => {
            // A worker needs the database `serve` made; it never makes an empty one.
            open_existing(&config).await?;
            kindred::app::work(config).await
        }
        Command::Deliveries { action } => {
            let db = open_existing(&config).await?;
            match action {
                None => print!("{}", describe_queue(&delivery::queue_summary(&db).await?)),
                Some(DeliveriesCommand::Retry { instance }) => {
                    let requeued =
                        delivery::retry_held_deliveries(&db, instance.as_deref()).await?;
                    println!("{requeued} deliveries requeued");
                }
            }
            Ok(())
        }
        Command::Migrate => {
            let db = database::connect(&config).await?;
            let applied = database::migrate(&db).await?;
            println!("{applied} migration(s) applied; the schema is up to date");
            Ok(())
        }
        Command::Group(GroupCommand::Create {
            name,
            title,
            summary,
        }) => {
            let db = open_existing(&config).await?;
            let group = directory::create_group(
                &db,
                &config,
                &KeypairSource::Generate,
                NewGroup {
                    name: &name,
                    title: &title,
                    summary_markdown: summary.as_deref(),
                },
            )
            .await?;
            println!("created @{}@{} at {}", name, config.domain(), group.ap_id);
            Ok(())
        }
        Command::User(command) => run_user_command(command, &config).await,
        Command::Instance(command) => {
            let db = open_existing(&config).await?;
            match command {
                InstanceCommand::Block { host } => {
                    kindred::federation::instances::set_blocked(&db, &host, true).await?;
                    println!("{host} is blocked (running servers notice within seconds)");
                }
                InstanceCommand::Unblock { host } => {
                    kindred::federation::instances::set_blocked(&db, &host, false).await?;
                    println!("{host} is no longer blocked");
                }
                InstanceCommand::List => {
                    if !config.federation.allowlist.is_empty() {
                        println!(
                            "allowlist mode: only {}",
                            config.federation.allowlist.join(", ")
                        );
                    }
                    let blocked = kindred::federation::instances::blocked_hosts(&db).await?;
                    if blocked.is_empty() {
                        println!("no blocked servers");
                    }
                    for host in blocked {
                        println!("blocked\t{host}");
                    }
                }
            }
            Ok(())
        }
        Command::Group(GroupCommand::Remove { name }) => {
            database::connect_existing(&config).await?;
            let federation = kindred::app::prepare(config, KeypairSource::Generate).await?;
            let context = federation.to_request_data();
            kindred::actions::accounts::remove_group(
                &context,
                kindred::actions::accounts::Remover::Operator,
                &name,
            )
            .await?;
            println!("group {name} removed; its members' servers will be told");
            Ok(())
        }
        Command::Group(GroupCommand::List) => {
            let db = open_existing(&config).await?;
            let groups = directory::list_local_groups(&db).await?;
            if groups.is_empty() {
                println!(
                    "no groups yet; create one with `kindred group create NAME --title TITLE`"
                );
            }
            for group in groups {
                println!(
                    "@{}@{}\t{}\t{}",
                    group.preferred_username,
                    config.domain(),
                    group.display_name.unwrap_or_default(),
                    group.ap_id
                );
            }
            Ok(())
        }
    }
}

async fn run_user_command(command: UserCommand, config: &Config) -> kindred::error::Result<()> {
    let db = open_existing(config).await?;
    match command {
        UserCommand::Create {
            name,
            admin,
            email,
            password_stdin,
        } => {
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(kindred::error::Error::internal)?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (random_token(12), true)
            };
            let created = users::create_user(
                &db,
                config,
                &KeypairSource::Generate,
                NewUser {
                    name: &name,
                    password: &password,
                    email: email.as_deref(),
                    application_text: None,
                },
                UserState::Active,
                admin,
            )
            .await?;
            println!(
                "created {}@{}{} at {}",
                created.user.name,
                config.domain(),
                if admin { " (administrator)" } else { "" },
                created.actor.ap_id
            );
            if generated {
                println!("initial password: {password}\nsign in and change it under Settings");
            }
        }
        UserCommand::List => {
            for user in users::list(&db).await? {
                println!(
                    "{}\t{}\t{:?}\tjoined {}",
                    user.name,
                    if user.is_admin { "admin" } else { "user" },
                    user.state,
                    user.created_at.format("%Y-%m-%d")
                );
            }
        }
        UserCommand::Enable { name } => {
            users::set_state(&db, &name, UserState::Active).await?;
            println!("{name} can sign in");
        }
        UserCommand::Disable { name } => {
            users::set_state(&db, &name, UserState::Disabled).await?;
            println!("{name} is disabled and signed out everywhere");
        }
        UserCommand::Remove { name } => {
            database::connect_existing(config).await?;
            let federation = kindred::app::prepare(config.clone(), KeypairSource::Generate).await?;
            let context = federation.to_request_data();
            kindred::actions::accounts::remove_account(
                &context,
                kindred::actions::accounts::Remover::Operator,
                &name,
            )
            .await?;
            println!("{name} removed; the servers of its groups will be told");
        }
    }
    Ok(())
}

/// The queue as the operator reads it.
fn describe_queue(summary: &delivery::QueueSummary) -> String {
    let mut text = format!(
        "fan-outs pending: {} ({} inboxes still to reach)\ndeliveries (retries, refusals, parked) by state:\n",
        summary.fan_outs_pending, summary.fan_out_targets_pending
    );
    for (state, count) in &summary.by_state {
        text.push_str(&format!("  {state:<10} {count}\n"));
    }
    text.push_str(&format!("in flight now: {}\n", summary.in_flight));
    text.push_str(&format!(
        "oldest pending: {} s\n",
        summary.oldest_pending_seconds
    ));
    text.push_str(&format!(
        "failing servers: {}\n",
        summary.failing_instances.len()
    ));
    for (host, since, failures) in &summary.failing_instances {
        text.push_str(&format!(
            "  {host} failing since {since} ({failures} failures in a row)\n"
        ));
    }
    text.push_str(&format!("dead servers: {}\n", summary.dead_instances.len()));
    for (host, since) in &summary.dead_instances {
        text.push_str(&format!(
            "  {host} dead since {since} (retry with `kindred deliveries retry --instance {host}`)\n"
        ));
    }
    text
}

/// The database of an instance that exists: every command but `serve` and `migrate` refuses
/// to create an empty one (run from another directory, it would, and an administrator made in
/// it could never sign in to the real instance). Its schema is brought up to date.
async fn open_existing(config: &Config) -> kindred::error::Result<sea_orm::DatabaseConnection> {
    let db = database::connect_existing(config).await?;
    database::migrate(&db).await?;
    Ok(db)
}

/// Creates @welcome unless it exists already.
async fn create_example_group(config: &Config) -> kindred::error::Result<()> {
    let db = database::connect(config).await?;
    database::migrate(&db).await?;
    if directory::find_local_actor_by_name(&db, EXAMPLE_GROUP_NAME)
        .await?
        .is_none()
    {
        directory::create_group(
            &db,
            config,
            &KeypairSource::Generate,
            NewGroup {
                name: EXAMPLE_GROUP_NAME,
                title: "Welcome",
                summary_markdown: Some(
                    "A first group to look at. Follow it from Mastodon, or create your own with \
                     `kindred group create NAME --title TITLE`.",
                ),
            },
        )
        .await?;
    }
    db.close().await?;
    Ok(())
}

const EXAMPLE_GROUP_NAME: &str = "welcome";

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_command_has_help() {
        Cli::command().debug_assert();
        for arguments in [
            vec!["kindred", "--help"],
            vec!["kindred", "serve", "--help"],
            vec!["kindred", "migrate", "--help"],
            vec!["kindred", "worker", "--help"],
            vec!["kindred", "deliveries", "--help"],
            vec!["kindred", "deliveries", "retry", "--help"],
            vec!["kindred", "group", "create", "--help"],
            vec!["kindred", "group", "list", "--help"],
            vec!["kindred", "user", "create", "--help"],
            vec!["kindred", "user", "list", "--help"],
            vec!["kindred", "user", "enable", "--help"],
            vec!["kindred", "user", "disable", "--help"],
            vec!["kindred", "instance", "block", "--help"],
            vec!["kindred", "group", "remove", "--help"],
            vec!["kindred", "user", "remove", "--help"],
            vec!["kindred", "instance", "list", "--help"],
        ] {
            let error = Cli::try_parse_from(&arguments).err().unwrap();
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::DisplayHelp,
                "{arguments:?}"
            );
        }
        assert!(Cli::try_parse_from(["kindred", "group", "create", "x"]).is_err());
    }

    #[tokio::test]
    async fn commands_other_than_serve_and_migrate_never_create_an_empty_database() {
        let directory = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.database.data_dir = directory.path().join("elsewhere");
        for arguments in [
            vec!["kindred", "user", "list"],
            vec!["kindred", "user", "create", "ann", "--admin"],
            vec!["kindred", "group", "list"],
            vec!["kindred", "group", "remove", "repair"],
            vec!["kindred", "instance", "list"],
            vec!["kindred", "deliveries"],
        ] {
            let cli = Cli::try_parse_from(&arguments).unwrap();
            let error = run(cli.command, config.clone())
                .await
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("no database at") && error.contains("elsewhere/kindred.sqlite"),
                "{arguments:?}: {error}"
            );
        }
        assert!(
            !config.database.data_dir.join("kindred.sqlite").exists(),
            "nothing was created"
        );
        run(Command::Migrate, config.clone()).await.unwrap();
        let cli = Cli::try_parse_from(["kindred", "user", "list"]).unwrap();
        run(cli.command, config).await.unwrap();
    }

    #[tokio::test]
    async fn migrate_then_create_and_list_groups_on_a_fresh_sqlite_file() {
        let directory = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.database.data_dir = directory.path().to_path_buf();
        run(Command::Migrate, config.clone()).await.unwrap();
        create_example_group(&config).await.unwrap();
        create_example_group(&config).await.unwrap();
        let cli = Cli::try_parse_from([
            "kindred",
            "group",
            "create",
            "zero_waste",
            "--title",
            "Zero waste",
            "--summary",
            "Less *bin*, more *life*",
        ])
        .unwrap();
        run(cli.command, config.clone()).await.unwrap();
        run(Command::Group(GroupCommand::List), config.clone())
            .await
            .unwrap();
        let duplicate = Cli::try_parse_from([
            "kindred",
            "group",
            "create",
            "zero_waste",
            "--title",
            "Again",
        ])
        .unwrap();
        assert!(run(duplicate.command, config.clone()).await.is_err());

        let deliveries = Cli::try_parse_from(["kindred", "deliveries"]).unwrap();
        run(deliveries.command, config.clone()).await.unwrap();
        let retry =
            Cli::try_parse_from(["kindred", "deliveries", "retry", "--instance", "a.example"])
                .unwrap();
        run(retry.command, config.clone()).await.unwrap();

        for arguments in [
            vec!["kindred", "user", "create", "ann", "--admin"],
            vec!["kindred", "user", "list"],
            vec!["kindred", "user", "disable", "ann"],
        ] {
            let cli = Cli::try_parse_from(&arguments).unwrap();
            run(cli.command, config.clone()).await.unwrap();
        }
        for arguments in [
            vec!["kindred", "instance", "block", "spam.example"],
            vec!["kindred", "instance", "list"],
        ] {
            let cli = Cli::try_parse_from(&arguments).unwrap();
            run(cli.command, config.clone()).await.unwrap();
        }
        let bad_host = Cli::try_parse_from(["kindred", "instance", "block", "not a host"]).unwrap();
        assert!(run(bad_host.command, config.clone()).await.is_err());
        let taken = Cli::try_parse_from(["kindred", "user", "create", "zero_waste"]).unwrap();
        assert!(run(taken.command, config.clone()).await.is_err());

        let db = database::connect(&config).await.unwrap();
        assert!(
            kindred::federation::instances::blocked_hosts(&db)
                .await
                .unwrap()
                .contains("spam.example")
        );
        let ann = users::find_by_name(&db, "ann").await.unwrap().unwrap();
        assert!(ann.user.is_admin);
        assert_eq!(ann.user.state, UserState::Disabled);
        assert_eq!(ann.actor.ap_id, "http://localhost:8080/users/ann");
        let groups = directory::list_local_groups(&db).await.unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].ap_id, "http://localhost:8080/groups/welcome");
        assert_eq!(groups[1].ap_id, "http://localhost:8080/groups/zero_waste");
        // The CLI generates a real key pair for the group.
        assert!(
            groups[1]
                .private_key_pem
                .as_deref()
                .unwrap()
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        db.close().await.unwrap();

        for arguments in [
            vec!["kindred", "group", "remove", "welcome"],
            vec!["kindred", "user", "remove", "ann"],
        ] {
            let cli = Cli::try_parse_from(&arguments).unwrap();
            run(cli.command, config.clone()).await.unwrap();
        }
        let db = database::connect(&config).await.unwrap();
        let groups = directory::list_local_groups(&db).await.unwrap();
        assert_eq!(groups.len(), 1, "the removed group is gone");
        let ann = users::find_by_name(&db, "ann").await.unwrap().unwrap();
        assert!(ann.actor.deleted_at.is_some());
        let again = Cli::try_parse_from(["kindred", "group", "remove", "welcome"]).unwrap();
        assert!(run(again.command, config.clone()).await.is_err());
    }
}
