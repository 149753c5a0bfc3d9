//! Store URIs and stream names from arbitrary text: parsing never panics; a Pravega address survives its own
//! connect URI (percent-encoding round trip); what is shown to people never holds the password; an accepted
//! stream name is one safe path component per part and prints back as it was written.

#![no_main]

use hindsight_store::name::StreamName;
use hindsight_store::uri::{redact, StoreLocation, StoreUri};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    match StoreUri::parse(text) {
        Ok(uri) => {
            if let StoreLocation::Pravega(addr) = uri.location() {
                let again = StoreUri::parse(&addr.connect_uri()).expect("a connect URI parses");
                assert_eq!(again.location(), uri.location());
                if let Some((user, _)) = &addr.credentials {
                    // What is shown has the user and no password before the host.
                    let shown = uri.to_string();
                    let scheme = if addr.tls { "tls" } else { "tcp" };
                    let before_host = shown.rsplit_once('@').map(|(u, _)| u);
                    assert_eq!(before_host, Some(format!("{scheme}://{user}").as_str()), "{shown:?}");
                }
            }
        }
        Err(e) => {
            // The message is built from the redacted text, whatever the input.
            let _ = e.to_string();
        }
    }
    let _ = redact(text);

    if let Ok(name) = StreamName::parse(text) {
        assert_eq!(name.to_string(), text);
        for part in [name.scope(), name.stream()] {
            assert!(!part.is_empty() && part != "." && part != "..");
            assert!(!part.contains(['/', '\0', '\n']));
        }
    }
});
