// Conversion of a request that Beast has parsed into the HttpRequest that
// HttpHandler takes. HttpSession and the HTTP request fuzzer both use it, so
// the fuzzer hands the handler exactly what the server would.
#pragma once

#include <boost/beast/http.hpp>

#include <string>
#include <string_view>

#include "server/http_handler.h"

namespace moat::server {

inline constexpr std::string_view kInferenceHeaderLengthField = "Inference-Header-Content-Length";

// Builds the HttpRequest for `message` from `peer` ("127.0.0.1:51234"),
// moving the body out of `message`. A repeated Content-Encoding or
// Accept-Encoding header is joined with ", ", the way HTTP defines a repeated
// list header to read. Of a repeated Inference-Header-Content-Length header
// only the first value is kept, so callers that must reject the repeat check
// for it first.
HttpRequest ToHttpRequest(boost::beast::http::request<boost::beast::http::string_body>& message,
                          std::string peer);

}  // namespace moat::server
