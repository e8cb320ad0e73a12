#include "store/enrol_csv.hpp"

#include "core/error.hpp"
#include "store_fixture.hpp"

namespace laneface::store::test {
namespace {

const std::string kHeader =
    "number,type,country,name,date_of_birth,citizenship,admitted_until,portrait\n";

std::string error_at(const EnrolCsv& csv, std::size_t line) {
  for (const auto& e : csv.errors) {
    if (e.line == line) return e.message;
  }
  return "(no error on line " + std::to_string(line) + ")";
}

TEST(EnrolCsv, KeepsGoodRowsAndReportsEachBadRowWithItsLine) {
  const std::string text =
      kHeader +
      "X100,passport,usa,\"DOE, JANE \"\"JJ\"\"\",1980-01-31,US,,x100.jpg\n"  // 2 ok
      "X101,passport,MEX,Juan Perez,1990-13-01,non-US,2030-01-01,x101.jpg\n"  // 3 bad date
      "X102,drivers_licence,CAN,Ann Lee,1970-05-05,non-US,,x102.jpg\n"        // 4 type
      "x100,passport,USA,Other Person,1981-01-01,US,,x100b.jpg\n"             // 5 duplicate
      "X104,visa,MEX,Ana Ruiz,1985-06-06,non-US,2025-02-30,\n"                // 6 two problems
      "X105,passport,USA,Bo Dee,1960-01-01,US,2030-01-01,x105.jpg\n"          // 7 US+until
      "\n"
      "X106,Visa,mex,Cy Ray,2001-12-31,NON-US,2026-06-30,missing.jpg\n"  // 9 no file
      "X107,passport_card,USA,Di Fox,2001-12-31,US,,x107.jpg\r\n"        // 10 stored
      "X108,enhanced_licence,CAN,Ed Gu,1999-09-09,non-US,,x108.jpg\n";   // 11 ok
  EnrolCsvChecks checks;
  checks.portrait_exists = [](const std::string& p) { return p != "missing.jpg"; };
  checks.already_enrolled = [](const DocumentKey& k) { return k.number == "X107"; };
  const EnrolCsv csv = parse_enrol_csv(text, "people.csv", checks);

  ASSERT_EQ(csv.rows.size(), 2u);
  EXPECT_EQ(csv.rows[0].line, 2u);
  EXPECT_EQ(csv.rows[0].document.holder_name, "DOE, JANE \"JJ\"");
  EXPECT_EQ(csv.rows[0].document.country, "USA");
  EXPECT_EQ(csv.rows[0].portrait, "x100.jpg");
  EXPECT_FALSE(csv.rows[0].document.admitted_until);
  EXPECT_EQ(csv.rows[1].line, 11u);
  EXPECT_EQ(csv.rows[1].document.type, DocumentType::kEnhancedLicence);

  ASSERT_EQ(csv.errors.size(), 7u);
  EXPECT_NE(error_at(csv, 3).find("date_of_birth '1990-13-01'"), std::string::npos)
      << error_at(csv, 3);
  EXPECT_NE(error_at(csv, 4).find("type 'drivers_licence'"), std::string::npos) << error_at(csv, 4);
  EXPECT_NE(error_at(csv, 5).find("duplicate document passport X100 (USA), first on line 2"),
            std::string::npos)
      << error_at(csv, 5);
  EXPECT_NE(error_at(csv, 6).find("admitted_until '2025-02-30'"), std::string::npos)
      << error_at(csv, 6);
  EXPECT_NE(error_at(csv, 6).find("portrait path is missing"), std::string::npos)
      << error_at(csv, 6);
  EXPECT_NE(error_at(csv, 7).find("non-US travellers only"), std::string::npos) << error_at(csv, 7);
  EXPECT_NE(error_at(csv, 9).find("portrait 'missing.jpg' not found"), std::string::npos)
      << error_at(csv, 9);
  EXPECT_NE(error_at(csv, 10).find("already enrolled"), std::string::npos) << error_at(csv, 10);
  for (const auto& e : csv.errors) {  // messages never repeat the holder's name
    for (const char* name :
         {"Juan", "Ann Lee", "Other Person", "Ana Ruiz", "Bo Dee", "Cy Ray", "Di Fox"}) {
      EXPECT_EQ(e.message.find(name), std::string::npos) << e.message;
    }
  }
  EXPECT_EQ(csv.errors_json()[0]["line"], 3);
}

TEST(EnrolCsv, AWholeFileProblemIsAClearErrorNamingTheFile) {
  const auto expect_invalid = [](const std::string& text, const std::string& needle) {
    try {
      parse_enrol_csv(text, "people.csv");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const core::Error& e) {
      EXPECT_EQ(e.kind(), core::ErrorKind::kInvalidInput);
      EXPECT_NE(std::string(e.what()).find("people.csv"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_invalid("", "empty");
  expect_invalid("number,type,country,name,date_of_birth,citizenship,admitted_until\n", "portrait");
  expect_invalid(kHeader + "X1,passport,USA,A,1980-01-01,US,,a.jpg\nX2,passport,USA\n", ":3:");
  expect_invalid(kHeader + "X1,passport,USA,\"A,1980-01-01,US,,a.jpg\n", "unterminated");
}

TEST_F(StoreTest, EnrolmentOfParsedRowsKeepsWhatIsStoredOnASecondRun) {
  const std::string text = kHeader +
                           "P1,passport,USA,A B,1980-01-01,US,,a.jpg\n"
                           "P2,visa,MEX,C D,1981-02-02,non-US,2030-01-01,b.jpg\n";
  auto store = open();
  EnrolCsvChecks checks;
  checks.already_enrolled = [&](const DocumentKey& k) {
    return store->find_document(k).has_value();
  };
  for (const auto& row : parse_enrol_csv(text, "a.csv", checks).rows)
    store->enrol(row.document, std::nullopt, "csv");
  EXPECT_EQ(store->stats().documents, 2);
  const EnrolCsv second = parse_enrol_csv(text, "a.csv", checks);
  EXPECT_TRUE(second.rows.empty());
  ASSERT_EQ(second.errors.size(), 2u);
  EXPECT_NE(second.errors[1].message.find("visa P2 (MEX) is already enrolled"), std::string::npos);
  EXPECT_EQ(store->stats().documents, 2);
  EXPECT_TRUE(store->verify_audit().ok);
}

}  // namespace
}  // namespace laneface::store::test
