//! The ceiling of the benchmarks: actix-web answering a fixed plaintext body, with the same
//! server defaults as casebridge (one worker per core), so that `bench/run.py` can say what share
//! of the framework's own throughput each endpoint reaches on the same machine.
//!
//! Usage: `casebridge-bench-ceiling ADDRESS` (e.g. `127.0.0.1:18090`).

use actix_web::{App, HttpResponse, HttpServer, get};

#[get("/plaintext")]
async fn plaintext() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain")
        .body("Hello, World!")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18090".to_owned());
    HttpServer::new(|| App::new().service(plaintext))
        .bind(address)?
        .run()
        .await
}
