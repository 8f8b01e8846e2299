// Builders of HttpReply values that the endpoint handlers share. Internal to
// the server.
#pragma once

#include <string>
#include <utility>

#include "common/status.h"
#include "common/status_mapping.h"
#include "server/http_handler.h"
#include "server/json.h"

namespace moat::server {

// Turns `reply` into an error with an {"error": message} body.
inline HttpReply ErrorReply(HttpReply reply, unsigned http_status, const std::string& message) {
  reply.status = http_status;
  reply.body = ErrorJson(message);
  reply.content_type = "application/json";
  reply.inference_header_length.reset();
  reply.error = message;
  return reply;
}

// Same, with the HTTP status that `status`'s code maps to.
inline HttpReply ErrorReply(HttpReply reply, const Status& status) {
  return ErrorReply(std::move(reply), HttpStatusFor(status.code()), status.message());
}

// Turns `reply` into a 200 with the JSON `body`.
inline HttpReply JsonReply(HttpReply reply, std::string body) {
  reply.status = 200;
  reply.body = std::move(body);
  return reply;
}

}  // namespace moat::server
