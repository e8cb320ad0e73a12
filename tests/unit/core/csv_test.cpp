#include "core/csv.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace lc = laneface::core;

TEST(Csv, ParsesQuotesCrlfAndKeepsLineNumbers) {
  const auto t = lc::parse_csv("a,b\r\n1,\"x, \"\"y\"\"\"\r\n\r\n\"multi\nline\",3\n", "t.csv");
  ASSERT_EQ(t.header, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].fields[1], "x, \"y\"");
  EXPECT_EQ(t.rows[0].line, 2u);
  EXPECT_EQ(t.rows[1].fields[0], "multi\nline");
  EXPECT_EQ(t.rows[1].line, 4u);
  EXPECT_EQ(t.column("b"), 1u);
}

TEST(Csv, ErrorsNameTheFileAndLine) {
  auto expect = [](const std::string& text, const std::string& want) {
    try {
      lc::parse_csv(text, "in.csv");
      FAIL() << "accepted: " << text;
    } catch (const lc::Error& e) {
      EXPECT_EQ(e.kind(), lc::ErrorKind::kInvalidInput);
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  };
  expect("", "in.csv: empty CSV");
  expect("a,b\n1,2\n3\n", "in.csv:3: 1 fields, the header has 2");
  expect("a,b\n\"open,2\n", "in.csv:2: unterminated");
  EXPECT_THROW(lc::parse_csv("a\n1\n", "x.csv").column("zz"), lc::Error);
  EXPECT_THROW(lc::read_csv("/nonexistent/laneface.csv"), lc::Error);
}
