use mcp_auth::protected_resource;

#[protected_resource(resource = "https://api.example.com/mcp")]
enum Handler {
    Notes,
}

fn main() {
    let _ = Handler::Notes;
}
