//! `/readyz` names each service the process needs (database, queue, mail)
//! with its state, and answers 503 while one is down.

use tests::{Backend, TestApp, spawn_app};

on_both_backends!(readyz_names_each_service_and_mail_goes_down_with_its_server);

async fn readyz_names_each_service_and_mail_goes_down_with_its_server(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ready = "database: ok\nqueue: ok\nmail: ok\n";
    assert_eq!(readyz(&app).await, (200, ready.to_string()));

    // Mail goes away: the SMTP server stops (production), or the outbox
    // directory can no longer take a file (embedded: a file in its place).
    let outbox = app.ctx.settings.outbox_dir();
    match backend {
        Backend::Postgres => app.smtp.as_ref().expect("an SMTP sink").stop(),
        Backend::Sqlite => {
            std::fs::remove_dir_all(&outbox).expect("remove outbox");
            std::fs::write(&outbox, b"in the way").expect("a file");
        }
    }
    assert_eq!(
        readyz(&app).await,
        (503, "database: ok\nqueue: ok\nmail: down\n".to_string())
    );

    match backend {
        Backend::Postgres => app.smtp.as_ref().expect("sink").start_again().await,
        Backend::Sqlite => std::fs::remove_file(&outbox).expect("remove"),
    }
    assert_eq!(readyz(&app).await, (200, ready.to_string()));
}

async fn readyz(app: &TestApp) -> (u16, String) {
    let response = app
        .http
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .expect("readyz");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}
