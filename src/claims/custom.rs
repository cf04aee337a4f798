//! The application's own claims: [`NoCustomClaims`] when it has none, and the record of the
//! claims types the layers read, to name them when a handler asks for another.

use serde::{Deserialize, Serialize};

/// The claims types of the layers this process built, to name them when a handler asks for
/// another (a misconfiguration).
static LAYER_CLAIMS_TYPES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());

/// Note that a layer reads claims of type `C`.
pub(crate) fn register_layer_claims<C>() {
    let name = std::any::type_name::<C>();
    let mut types = LAYER_CLAIMS_TYPES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !types.contains(&name) {
        types.push(name);
    }
}

/// The claims types of the layers built so far.
#[cfg(any(feature = "axum", feature = "tonic"))]
fn layer_claims_types() -> Vec<&'static str> {
    LAYER_CLAIMS_TYPES.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
}

/// A handler asked for claims of type `C` that a request the layer did not let through
/// anonymously does not carry: a misconfiguration (the route is not behind the layer, or the
/// layer reads another claims type), answered as a server error, with this log naming both.
#[cfg(any(feature = "axum", feature = "tonic"))]
pub(crate) fn report_foreign_claims<C>() {
    tracing::error!(
        target: "tower_sliding_jwt",
        asked = std::any::type_name::<C>(),
        layers_read = ?layer_claims_types(),
        "a handler asks for claims the request does not carry: the route is not behind a \
         JwtAuthLayer, or the layer reads another claims type"
    );
}

/// No application claims: the default `C` of [`Claims`](crate::Claims). Reads nothing, accepts any payload.
///
/// ```
/// use tower_sliding_jwt::{Claims, NoCustomClaims};
///
/// // `Claims` alone means `Claims<NoCustomClaims>`: the registered claims only.
/// fn subject(claims: &Claims<NoCustomClaims>) -> Option<&str> {
///     claims.subject()
/// }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NoCustomClaims {}
