//! Browsers of the people the system serves: a client logged in to their
//! gallery with the credentials it emailed them, a studio's staff logged in
//! to the dashboard.

use crate::{TestApp, csrf_field};

/// A client's browser logged in to their gallery.
pub struct GalleryVisit {
    pub browser: reqwest::Client,
    /// The gallery's link, as emailed.
    pub link: String,
    /// The gallery page the login answered with.
    pub page: String,
}

impl GalleryVisit {
    /// Downloads one photo at full resolution: the answer's status (303 to
    /// the photo, 403 when it is not downloadable).
    pub async fn download(&self, photo: &str) -> u16 {
        self.browser
            .get(format!("{}/photos/{photo}", self.link))
            .send()
            .await
            .expect("download")
            .status()
            .as_u16()
    }
}

/// The HTML of a page at `url`, as `browser` sees it.
pub async fn page_of(browser: &reqwest::Client, url: &str) -> String {
    browser
        .get(url)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html")
}

impl TestApp {
    /// Logs in to the gallery whose credentials were emailed to `email`,
    /// with a browser that says it is `user_agent`.
    pub async fn gallery_login(&self, email: &str, user_agent: &str) -> GalleryVisit {
        let credentials = self
            .emails_to(email)
            .into_iter()
            .find(|e| e.text.contains("Password: "))
            .expect("credentials email");
        let link = credentials
            .text
            .split_whitespace()
            .find(|w| w.starts_with("http") && w.contains("/gallery/"))
            .expect("gallery link")
            .to_string();
        let password = credentials
            .text
            .lines()
            .find_map(|l| l.strip_prefix("Password: "))
            .expect("password")
            .trim()
            .to_string();
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .user_agent(user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let login = browser
            .post(&link)
            .form(&[("username", email), ("password", &password)])
            .send()
            .await
            .expect("login");
        assert_eq!(login.status(), 200);
        let page = login.text().await.expect("gallery page");
        GalleryVisit {
            browser,
            link,
            page,
        }
    }

    /// A browser logged in to the dashboard as new staff `email` of the
    /// studio of `key`.
    pub async fn staff_browser(&self, key: &str, email: &str) -> reqwest::Client {
        let studio = domain::studio::studios::authenticate(&self.ctx.db, key, self.ctx.clock.now())
            .await
            .expect("lookup")
            .expect("studio");
        let password = "correct horse battery";
        domain::studio::staff::create_staff(
            &self.ctx.db,
            studio.id,
            email,
            password,
            self.ctx.clock.now(),
        )
        .await
        .expect("staff");
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let page = browser
            .get(format!("{}/dashboard/login", self.address))
            .send()
            .await
            .expect("login page")
            .text()
            .await
            .expect("html");
        let login = browser
            .post(format!("{}/dashboard/login", self.address))
            .form(&[
                ("email", email),
                ("password", password),
                ("csrf", csrf_field(&page).as_str()),
            ])
            .send()
            .await
            .expect("login");
        assert_eq!(login.status(), 303);
        browser
    }
}
