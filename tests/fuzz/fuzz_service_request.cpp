// libFuzzer target: the service's request parsing (src/service/request.hpp). Any bytes as a
// JSON body, then every typed parser over it and over a query string made of the same bytes:
// only RequestError may come out (a 4xx with a message), never a crash or another exception.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "service/request.hpp"

using namespace laneface::service;

namespace {

template <class F>
void expect_request_error_only(F&& f) {
  try {
    f();
  } catch (const RequestError& e) {
    if (e.status() < 400 || e.status() > 499) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  expect_request_error_only([&] {
    const auto json = parse_json_body(body, 1 << 20);
    expect_request_error_only([&] { parse_login(json); });
    expect_request_error_only([&] { parse_new_user(json); });
    expect_request_error_only([&] { parse_decision(json); });
    expect_request_error_only([&] { parse_vehicle_event(json); });
    expect_request_error_only([&] { parse_enrol(json, 1 << 16); });
    expect_request_error_only([&] { parse_image_field(json, "image", 1 << 16); });
    expect_request_error_only([&] { parse_stream_lane(json); });
    expect_request_error_only([&] { parse_lane_start(json); });
  });
  // The same bytes as query parameters: name=value pairs split on '&'.
  Params params;
  std::size_t start = 0;
  while (start <= body.size()) {
    const auto end = std::min(body.find('&', start), body.size());
    const auto item = body.substr(start, end - start);
    const auto eq = item.find('=');
    params.emplace(std::string(item.substr(0, eq)),
                   eq == std::string_view::npos ? "" : std::string(item.substr(eq + 1)));
    start = end + 1;
  }
  expect_request_error_only([&] { parse_crossing_query(params); });
  expect_request_error_only([&] { parse_audit_query(params); });
  expect_request_error_only([&] { date_param(params, "from"); });
  return 0;
}
