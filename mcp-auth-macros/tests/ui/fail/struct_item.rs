use mcp_auth::protected_resource;

#[protected_resource(resource = "https://api.example.com/mcp")]
struct Handler;

fn main() {
    let _ = Handler;
}
