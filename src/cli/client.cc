#include "cli/client.h"

#include <boost/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/http_client.h"
#include "common/http_server.h"
#include "common/json.h"

namespace pg::cli {
namespace {

namespace bhttp = boost::beast::http;

void AddCommon(CLI::App* cmd, ClientCommands& c) {
  cmd->add_option("--hub", c.hub, "hub URL (env PLAYGROUND_HUB)");
  cmd->add_option("--token", c.token, "token (env PLAYGROUND_TOKEN or PLAYGROUND_ADMIN_TOKEN)");
  cmd->add_option("--data-dir", c.data_dir, "where to find admin-token")->capture_default_str();
  cmd->add_flag("--json", c.json, "print JSON");
}

std::string ResolveHub(const ClientCommands& c) {
  if (!c.hub.empty()) return c.hub;
  if (const char* e = std::getenv("PLAYGROUND_HUB")) return e;
  return "http://127.0.0.1:8080";
}

std::string ResolveToken(const ClientCommands& c) {
  if (!c.token.empty()) return c.token;
  if (const char* e = std::getenv("PLAYGROUND_TOKEN")) return e;
  if (const char* e = std::getenv("PLAYGROUND_ADMIN_TOKEN")) return e;
  std::ifstream f(c.data_dir + "/admin-token");
  std::string t;
  std::getline(f, t);
  return t;
}

Result<http::ClientResponse> Call(const ClientCommands& c, bhttp::verb method, const std::string& path,
                                  std::string body = "", std::string content_type = "application/json") {
  http::ClientRequest req;
  req.method = method;
  std::string hub = ResolveHub(c);
  while (!hub.empty() && hub.back() == '/') hub.pop_back();
  req.url = hub + path;
  std::string token = ResolveToken(c);
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  if (!body.empty()) req.headers.emplace_back("Content-Type", content_type);
  req.body = std::move(body);
  req.timeout = std::chrono::minutes(5);
  return http::Fetch(req);
}

int Fail(const std::string& msg) {
  std::cerr << "playground: " << msg << "\n";
  return 1;
}

// Prints the API error of a non-2xx response and returns 1.
int ApiError(const http::ClientResponse& res) {
  auto v = ParseJson(res.body);
  if (v.ok() && v->is_object() && v->as_object().contains("error")) {
    const auto& e = v->as_object().at("error");
    if (e.is_object() && e.as_object().contains("message") && e.as_object().at("message").is_string())
      return Fail(std::string(e.as_object().at("message").as_string()) + " (HTTP " + std::to_string(res.status) + ")");
  }
  return Fail("HTTP " + std::to_string(res.status) + ": " + res.body);
}

std::string Str(const json::object& o, std::string_view k) {
  auto it = o.find(k);
  if (it == o.end()) return "";
  if (it->value().is_string()) return std::string(it->value().as_string());
  if (it->value().is_null()) return "";
  return json::serialize(it->value());
}

void PrintTable(const std::vector<json::object>& items) {
  std::printf("%-26s  %-20s  %-8s  %-9s  %s\n", "ID", "NAME", "TEMPLATE", "STATUS", "CREATED");
  for (const auto& o : items) {
    std::printf("%-26s  %-20s  %-8s  %-9s  %s\n", Str(o, "id").c_str(), Str(o, "name").substr(0, 20).c_str(),
                Str(o, "template").c_str(), Str(o, "status").c_str(), Str(o, "created_at").c_str());
  }
}

void PrintOne(const json::object& o) {
  for (const auto& kv : o) {
    if (kv.value().is_object()) {
      for (const auto& sub : kv.value().as_object()) {
        std::printf("%-18s %s\n", (std::string(kv.key()) + "." + std::string(sub.key())).c_str(),
                    sub.value().is_string() ? std::string(sub.value().as_string()).c_str()
                                            : json::serialize(sub.value()).c_str());
      }
      continue;
    }
    std::printf("%-18s %s\n", std::string(kv.key()).c_str(), Str(o, kv.key()).c_str());
  }
}

int PrintPlayground(const ClientCommands& c, const http::ClientResponse& res) {
  if (c.json) {
    std::cout << res.body << "\n";
    return 0;
  }
  auto v = ParseJsonObject(res.body);
  if (!v.ok()) return Fail("unexpected response: " + res.body);
  PrintOne(*v);
  return 0;
}

}  // namespace

void RegisterClientCommands(CLI::App& app, ClientCommands& c) {
  c.create = app.add_subcommand("create", "create a playground");
  c.create->add_option("--name", c.name);
  c.create->add_option("--template", c.template_name, "python | c | cpp | node | blank");
  c.ls = app.add_subcommand("ls", "list playgrounds");
  c.show = app.add_subcommand("show", "show one playground");
  c.stop = app.add_subcommand("stop", "stop a playground (files are kept)");
  c.start = app.add_subcommand("start", "start a stopped playground");
  c.rm = app.add_subcommand("rm", "delete a playground and its files");
  c.put = app.add_subcommand("put", "write a file into a playground");
  c.get = app.add_subcommand("get", "print a file of a playground");
  for (auto* cmd : {c.show, c.stop, c.start, c.rm, c.put, c.get}) cmd->add_option("id", c.id)->required();
  for (auto* cmd : {c.put, c.get}) cmd->add_option("path", c.path)->required();
  c.put->add_option("file", c.file, "local file (default: stdin)");
  for (auto* cmd : {c.create, c.ls, c.show, c.stop, c.start, c.rm, c.put, c.get}) AddCommon(cmd, c);
}

int RunClientCommand(CLI::App& /*app*/, ClientCommands& c) {
  const std::string base = "/api/v1/playgrounds";
  if (c.create->parsed()) {
    json::object body;
    if (!c.name.empty()) body["name"] = c.name;
    if (!c.template_name.empty()) body["template"] = c.template_name;
    auto res = Call(c, bhttp::verb::post, base, json::serialize(body));
    if (!res.ok()) return Fail(res.error().message);
    if (res->status >= 300) return ApiError(*res);
    return PrintPlayground(c, *res);
  }
  if (c.ls->parsed()) {
    std::vector<json::object> items;
    std::string cursor;
    json::array all;
    for (;;) {
      auto res = Call(c, bhttp::verb::get, base + "?limit=100" + (cursor.empty() ? "" : "&cursor=" + cursor));
      if (!res.ok()) return Fail(res.error().message);
      if (res->status >= 300) return ApiError(*res);
      auto v = ParseJsonObject(res->body);
      if (!v.ok() || !v->contains("items") || !v->at("items").is_array()) return Fail("unexpected response");
      for (const auto& it : v->at("items").as_array()) {
        if (it.is_object()) items.push_back(it.as_object());
        all.push_back(it);
      }
      auto nc = v->find("next_cursor");
      if (nc == v->end() || !nc->value().is_string() || nc->value().as_string().empty()) break;
      cursor = std::string(nc->value().as_string());
    }
    if (c.json) {
      std::cout << json::serialize(all) << "\n";
    } else {
      PrintTable(items);
    }
    return 0;
  }
  if (c.show->parsed() || c.stop->parsed() || c.start->parsed()) {
    std::string path = base + "/" + http::PercentEncodePath(c.id);
    bhttp::verb verb = bhttp::verb::get;
    if (c.stop->parsed()) path += "/stop", verb = bhttp::verb::post;
    if (c.start->parsed()) path += "/start", verb = bhttp::verb::post;
    auto res = Call(c, verb, path);
    if (!res.ok()) return Fail(res.error().message);
    if (res->status >= 300) return ApiError(*res);
    return PrintPlayground(c, *res);
  }
  if (c.rm->parsed()) {
    auto res = Call(c, bhttp::verb::delete_, base + "/" + http::PercentEncodePath(c.id));
    if (!res.ok()) return Fail(res.error().message);
    if (res->status >= 300) return ApiError(*res);
    if (c.json) std::cout << "{\"deleted\":\"" << c.id << "\"}\n";
    return 0;
  }
  if (c.put->parsed() || c.get->parsed()) {
    std::string path = base + "/" + http::PercentEncodePath(c.id) + "/files/" + http::PercentEncodePath(c.path);
    if (c.get->parsed()) {
      auto res = Call(c, bhttp::verb::get, path);
      if (!res.ok()) return Fail(res.error().message);
      if (res->status >= 300) return ApiError(*res);
      std::fwrite(res->body.data(), 1, res->body.size(), stdout);
      return 0;
    }
    std::stringstream data;
    if (c.file.empty() || c.file == "-") {
      data << std::cin.rdbuf();
    } else {
      std::ifstream f(c.file, std::ios::binary);
      if (!f) return Fail("cannot read " + c.file);
      data << f.rdbuf();
    }
    auto res = Call(c, bhttp::verb::put, path, data.str(), "application/octet-stream");
    if (!res.ok()) return Fail(res.error().message);
    if (res->status >= 300) return ApiError(*res);
    return 0;
  }
  return Fail("no command");
}

}  // namespace pg::cli
