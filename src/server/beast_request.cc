#include "server/beast_request.h"

#include <memory>
#include <utility>

namespace moat::server {
namespace {

namespace http = boost::beast::http;

std::string JoinedField(const http::request<http::string_body>& message, http::field field) {
  std::string joined;
  auto [begin, end] = message.equal_range(field);
  for (auto it = begin; it != end; ++it) {
    if (!joined.empty()) joined += ", ";
    joined += std::string(it->value());
  }
  return joined;
}

}  // namespace

HttpRequest ToHttpRequest(http::request<http::string_body>& message, std::string peer) {
  HttpRequest request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  request.body = std::make_shared<const std::string>(std::move(message.body()));
  if (auto field = message.find(kInferenceHeaderLengthField); field != message.end()) {
    request.inference_header_length = std::string(field->value());
  }
  request.content_encoding = JoinedField(message, http::field::content_encoding);
  request.accept_encoding = JoinedField(message, http::field::accept_encoding);
  request.peer = std::move(peer);
  return request;
}

}  // namespace moat::server
