//! `cargo run -p api` serves; subcommands manage studios, demo data, migrations.

use api::Application;
use clap::{Parser, Subcommand};
use domain::AppContext;
use domain::infra::settings::Settings;
use domain::studio::studios::{self, NewStudio};

#[derive(Parser)]
#[command(about = "Invoicing and payments for photography studios")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Create a studio and print its API key (alone, on the last line).
    CreateStudio {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "USD")]
        currency: String,
        #[arg(long, default_value = "UTC")]
        time_zone: String,
        #[arg(long, default_value_t = 14)]
        payment_terms_days: i32,
        #[arg(long, default_value = "INV")]
        invoice_prefix: String,
        /// Postal address shown to clients; `\n` (or a newline) separates lines.
        #[arg(long)]
        address: Option<String>,
        /// The studio's email, shown to clients as a mailto link.
        #[arg(long)]
        email: Option<String>,
        /// The studio's phone, shown to clients as a tel link.
        #[arg(long)]
        phone: Option<String>,
        /// An https URL of the studio's logo, shown on pages and emails.
        #[arg(long)]
        logo_url: Option<String>,
    },
    /// Create a dashboard login for a studio's staff. The password comes from
    /// `--password` or, better (it stays out of the process list), the
    /// `STAFF_PASSWORD` environment variable; it is never printed.
    CreateStaff {
        #[arg(long)]
        studio_id: i64,
        #[arg(long)]
        email: String,
        #[arg(long, env = "STAFF_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Create another API key for a studio and print it (alone, on the last line).
    CreateApiKey {
        #[arg(long)]
        studio_id: i64,
        #[arg(long, default_value = "cli")]
        label: String,
    },
    /// Revoke one of a studio's API keys (by the id `list-api-keys` shows) at once.
    RevokeApiKey {
        #[arg(long)]
        studio_id: i64,
        #[arg(long)]
        key_id: i64,
    },
    /// List a studio's API keys: id, prefix, label, created, last used, revoked.
    ListApiKeys {
        #[arg(long)]
        studio_id: i64,
    },
    /// Load a demo studio with two clients and a session each; prints its API key last.
    SeedDemo,
    /// Database migrations: apply the pending ones (the default), roll back
    /// the latest (`down`: drops its tables and their data), or list them.
    /// Prints the name of each migration it applied, rolled back or found.
    #[command(
        after_help = "`migrate down` rolls back ONE migration (the latest) unless --steps N or \
--all says otherwise. In production (environment = production) it is refused without \
--yes-i-understand."
    )]
    Migrate {
        #[arg(value_enum, default_value = "up")]
        direction: Direction,
        /// With `down`: how many of the latest migrations to roll back (default 1).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..), conflicts_with = "all")]
        steps: Option<u32>,
        /// With `down`: roll back every migration, which drops every table and all its data.
        #[arg(long)]
        all: bool,
        /// With `down` in production: confirms that the tables of the rolled-back
        /// migrations, and their data, are to be dropped.
        #[arg(long)]
        yes_i_understand: bool,
    },
    /// Print the GraphQL schema (SDL).
    PrintSchema,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Direction {
    /// Apply every pending migration.
    Up,
    /// Roll back the latest migration (--steps N, --all): drops its tables and their data.
    Down,
    /// List every migration, applied or pending.
    Status,
}

/// `migrate up|down|status`, printing the name of each migration it applied,
/// rolled back or found (on stdout: the log filter does not hide it).
async fn migrate_command(
    db: &sea_orm::DatabaseConnection,
    direction: Direction,
    down_steps: Option<u32>,
) -> anyhow::Result<()> {
    use domain::infra::db;
    match direction {
        Direction::Up => {
            let applied = db::migrate_reporting(db).await?;
            for name in &applied {
                println!("Applied {name}");
            }
            let total = db::migration_status(db).await?.len();
            match applied.len() {
                0 => println!(
                    "The database is up to date: {total} migrations applied, none pending."
                ),
                n => println!("Applied {n} migration(s); {total} applied in all, none pending."),
            }
        }
        Direction::Down => {
            let rolled_back = db::rollback(db, down_steps).await?;
            if rolled_back.is_empty() {
                println!("Nothing to roll back: no migration is applied.");
            }
            for name in &rolled_back {
                println!("Rolled back {name}");
            }
            let left = db::migration_status(db)
                .await?
                .iter()
                .filter(|(_, applied)| *applied)
                .count();
            println!(
                "{} migration(s) rolled back, {left} still applied; `migrate` applies the pending ones again.",
                rolled_back.len()
            );
        }
        Direction::Status => {
            let all = db::migration_status(db).await?;
            for (name, applied) in &all {
                println!("{}  {name}", if *applied { "applied" } else { "pending" });
            }
            let applied = all.iter().filter(|(_, a)| *a).count();
            println!("{applied} applied, {} pending.", all.len() - applied);
        }
    }
    Ok(())
}

/// Prints input problems and exits with status 2; other errors propagate.
fn user_errors_exit(err: domain::DomainError) -> anyhow::Result<()> {
    match err {
        domain::DomainError::User(errors) => {
            for e in errors {
                eprintln!("{}: {}", e.field.join("."), e.message);
            }
            std::process::exit(2);
        }
        other => Err(other.into()),
    }
}

/// Errors end the process as `error: ...` (one or two lines, no backtrace)
/// with a non-zero status.
#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load()?;
    domain::infra::telemetry::init(&settings);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let host = settings.http.host.clone();
            let app = Application::build(settings).await?;
            let public = app.ctx.settings.public_url();
            // GraphiQL is served in development only (`api::graphql::graphiql`).
            let graphiql = if app.ctx.settings.environment
                == domain::infra::settings::Environment::Production
            {
                String::new()
            } else {
                format!("GraphiQL at {public}/graphql, ")
            };
            println!(
                "Listening on http://{host}:{} — {graphiql}dashboard at {public}/dashboard",
                app.port()
            );
            app.run_until_stopped().await?;
        }
        Command::CreateStudio {
            name,
            currency,
            time_zone,
            payment_terms_days,
            invoice_prefix,
            address,
            email,
            phone,
            logo_url,
        } => {
            let ctx = AppContext::build(settings).await?.ctx;
            let input = NewStudio {
                name,
                currency,
                time_zone,
                payment_terms_days,
                invoice_prefix,
                contact: studios::Contact {
                    address: address.map(|a| a.replace("\\n", "\n")),
                    email,
                    phone,
                    logo_url,
                },
            };
            match studios::create_studio(&ctx.db, input, ctx.clock.now()).await {
                Ok((studio, key)) => {
                    println!(
                        "Created studio #{} \"{}\". Its API key (shown once):",
                        studio.id, studio.name
                    );
                    println!("{key}");
                }
                Err(domain::DomainError::User(errors)) => {
                    for e in errors {
                        eprintln!("{}: {}", e.field.join("."), e.message);
                    }
                    std::process::exit(2);
                }
                Err(other) => return Err(other.into()),
            }
        }
        Command::CreateStaff {
            studio_id,
            email,
            password,
        } => {
            let Some(password) = password.filter(|p| !p.is_empty()) else {
                eprintln!("password: set STAFF_PASSWORD (or pass --password)");
                std::process::exit(2);
            };
            let ctx = AppContext::build(settings).await?.ctx;
            match domain::studio::staff::create_staff(
                &ctx.db,
                studio_id,
                &email,
                &password,
                ctx.clock.now(),
            )
            .await
            {
                Ok(user) => {
                    println!(
                        "Created dashboard login {} for studio #{}. Log in at {}/dashboard/login",
                        user.email,
                        user.studio_id,
                        ctx.settings.public_url()
                    );
                }
                Err(domain::DomainError::User(errors)) => {
                    for e in errors {
                        eprintln!("{}: {}", e.field.join("."), e.message);
                    }
                    std::process::exit(2);
                }
                Err(other) => return Err(other.into()),
            }
        }
        Command::CreateApiKey { studio_id, label } => {
            let ctx = AppContext::build(settings).await?.ctx;
            match domain::studio::api_keys::create(&ctx.db, studio_id, &label, ctx.clock.now())
                .await
            {
                Ok((key, clear)) => {
                    println!(
                        "Created API key #{} \"{}\" for studio #{}. The key (shown once):",
                        key.id, key.label, key.studio_id
                    );
                    println!("{clear}");
                }
                Err(err) => return user_errors_exit(err),
            }
        }
        Command::RevokeApiKey { studio_id, key_id } => {
            let ctx = AppContext::build(settings).await?.ctx;
            // The operator acts as no key: revoking a studio's last key is
            // allowed here (`create-api-key` gives it a new one).
            match domain::studio::api_keys::revoke(
                &ctx.db,
                domain::kernel::ids::StudioId::new(studio_id),
                domain::kernel::ids::ApiKeyId::new(key_id),
                None,
                ctx.clock.now(),
            )
            .await
            {
                Ok(key) => println!(
                    "API key #{} ({}…) of studio #{} is revoked.",
                    key.id, key.key_prefix, key.studio_id
                ),
                Err(err) => return user_errors_exit(err),
            }
        }
        Command::ListApiKeys { studio_id } => {
            let ctx = AppContext::build(settings).await?.ctx;
            let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "-".into())
            };
            for key in domain::studio::api_keys::list(&ctx.db, studio_id).await? {
                println!(
                    "#{}\t{}…\t{}\tcreated {}\tlast used {}\trevoked {}",
                    key.id,
                    key.key_prefix,
                    key.label,
                    when(Some(key.created_at)),
                    when(key.last_used_at),
                    when(key.revoked_at)
                );
            }
        }
        Command::SeedDemo => {
            let ctx = AppContext::build(settings).await?.ctx;
            let demo = domain::app::seed::seed_demo(&ctx).await?;
            if let Some(earlier) = demo.earlier_demo_studio_id {
                let start_over = match ctx.settings.database_kind() {
                    domain::infra::settings::DatabaseKind::Sqlite => format!(
                        "stop the api, rm -rf {} and run seed-demo again",
                        ctx.settings.data_dir.display()
                    ),
                    domain::infra::settings::DatabaseKind::Postgres => "stop the api, drop and re-create the database of DATABASE_URL, and run seed-demo again".into(),
                };
                eprintln!(
                    "note: a demo studio already existed (#{earlier}); this is another one, #{}, with its own login. To start over: {start_over}.",
                    demo.studio_id
                );
            }
            println!("{}", demo.summary());
            println!(
                "Dashboard: {}/dashboard/login  email: {}  password (shown once): {}",
                ctx.settings.public_url(),
                demo.staff_email,
                demo.staff_password
            );
            println!("Its API key (shown once):");
            println!("{}", demo.api_key);
        }
        Command::Migrate {
            direction,
            steps,
            all,
            yes_i_understand,
        } => {
            if direction != Direction::Down && (steps.is_some() || all || yes_i_understand) {
                eprintln!(
                    "error: --steps, --all and --yes-i-understand go with `migrate down` only"
                );
                std::process::exit(2);
            }
            if direction == Direction::Down
                && settings.environment == domain::infra::settings::Environment::Production
                && !yes_i_understand
            {
                eprintln!(
                    "error: refusing `migrate down` in production (environment = production): it drops the tables of the rolled-back migrations and their data\n  back up the database, then run it again with --yes-i-understand"
                );
                std::process::exit(2);
            }
            // `migrate` is often the first command an operator runs: a bad
            // data directory is named here too, not left to SQLite's error.
            if settings.data_dir_in_use() {
                settings.check_data_dir().map_err(anyhow::Error::msg)?;
            }
            let db = domain::infra::db::connect(&settings).await?.conn;
            migrate_command(
                &db,
                direction,
                if all { None } else { Some(steps.unwrap_or(1)) },
            )
            .await?;
        }
        Command::PrintSchema => {
            // Building the schema needs no database: print it from a bare schema.
            print!("{}", api::graphql::schema_sdl());
        }
    }
    Ok(())
}
