//! `cargo run -p api` serves; subcommands manage studios, demo data, migrations.

use api::Application;
use clap::{Parser, Subcommand};
use domain::AppContext;
use domain::infra::settings::Settings;
use domain::studio::studios::{self, NewStudio};
use migration::MigratorTrait;

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
    /// Database migrations.
    Migrate {
        #[arg(value_enum, default_value = "up")]
        direction: Direction,
    },
    /// Print the GraphQL schema (SDL).
    PrintSchema,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Direction {
    Up,
    Down,
    Status,
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load()?;
    domain::infra::telemetry::init(&settings);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
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
                studio_id,
                key_id,
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
            let demo = domain::studio::seed::seed_demo(&ctx).await?;
            println!(
                "Demo studio #{} loaded: session {} (Ava, auto-pay card) and session {} (Noah, pays by invoice).",
                demo.studio_id, demo.auto_pay_session_id, demo.invoice_session_id
            );
            println!(
                "Dashboard: {}/dashboard/login  email: {}  password (shown once): {}",
                ctx.settings.public_url(),
                demo.staff_email,
                demo.staff_password
            );
            println!("Its API key (shown once):");
            println!("{}", demo.api_key);
        }
        Command::Migrate { direction } => {
            let db = domain::infra::db::connect(&settings).await?.conn;
            match direction {
                Direction::Up => domain::infra::db::migrate(&db).await?,
                Direction::Down => migration::Migrator::down(&db, None).await?,
                Direction::Status => migration::Migrator::status(&db).await?,
            }
        }
        Command::PrintSchema => {
            // Building the schema needs no database: print it from a bare schema.
            print!("{}", api::graphql::schema_sdl());
        }
    }
    Ok(())
}
