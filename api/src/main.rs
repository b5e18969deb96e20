//! `cargo run -p api` serves; subcommands manage studios, demo data, migrations.

use api::Application;
use clap::{Parser, Subcommand};
use domain::AppContext;
use domain::settings::Settings;
use domain::studios::{self, NewStudio};
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load()?;
    domain::telemetry::init(&settings);
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
        } => {
            let ctx = AppContext::build(settings).await?.ctx;
            let input = NewStudio {
                name,
                currency,
                time_zone,
                payment_terms_days,
                invoice_prefix,
            };
            match studios::create_studio(&ctx.db, input).await {
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
            match domain::staff::create_staff(&ctx.db, studio_id, &email, &password).await {
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
        Command::SeedDemo => {
            let ctx = AppContext::build(settings).await?.ctx;
            let demo = domain::seed::seed_demo(&ctx).await?;
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
            let db = domain::db::connect(&settings).await?.conn;
            match direction {
                Direction::Up => domain::db::migrate(&db).await?,
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
