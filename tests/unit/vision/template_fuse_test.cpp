// Recognizer::fuse: one template from several shots of one face (the lane's multi-shot probe).
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "vision/fused_recognizer.hpp"

namespace lv = laneface::vision;
namespace lc = laneface::core;

namespace {

// A recognizer with the default fuse (element-wise mean); compare is not used here.
class MeanRecognizer final : public lv::Recognizer {
 public:
  MeanRecognizer(std::string id, std::size_t size) : id_(std::move(id)), size_(size) {}
  const std::string& model_id() const override { return id_; }
  std::size_t template_size() const override { return size_; }
  lc::Template embed(const cv::Mat&, const lc::Face&) const override {
    return {id_, std::vector<float>(size_, 0.0f)};
  }
  double compare(const lc::Template&, const lc::Template&) const override { return 0; }
  double threshold() const override { return 0; }

 private:
  std::string id_;
  std::size_t size_;
};

}  // namespace

TEST(TemplateFuse, DefaultIsTheElementWiseMean) {
  const MeanRecognizer r("m", 3);
  const std::vector<lc::Template> shots{{"m", {1, 2, 3}}, {"m", {3, 0, -3}}};
  const auto t = r.fuse(shots);
  EXPECT_EQ(t.model_id, "m");
  EXPECT_EQ(t.values, (std::vector<float>{2, 1, 0}));
  // One shot: the template itself.
  EXPECT_EQ(r.fuse(std::vector<lc::Template>{shots[0]}).values, shots[0].values);
}

TEST(TemplateFuse, RefusesNoShotsAndForeignTemplates) {
  const MeanRecognizer r("m", 3);
  EXPECT_THROW(r.fuse(std::vector<lc::Template>{}), lc::Error);
  EXPECT_THROW(r.fuse(std::vector<lc::Template>{{"m", {1, 2, 3}}, {"x", {1, 2, 3}}}), lc::Error);
  EXPECT_THROW(r.fuse(std::vector<lc::Template>{{"m", {1, 2}}}), lc::Error);
}

TEST(TemplateFuse, FusedRecognizerFusesEachPartByItself) {
  std::vector<std::unique_ptr<lv::Recognizer>> parts;
  parts.push_back(std::make_unique<MeanRecognizer>("a", 2));
  parts.push_back(std::make_unique<MeanRecognizer>("b", 1));
  const lv::FusedRecognizer fused(std::move(parts), {{"a", "b"}, {{0, 1}, {0, 1}}, 0, "test"});
  const std::vector<lc::Template> shots{{"fused:a+b", {0, 4, 10}}, {"fused:a+b", {2, 0, 20}}};
  const auto t = fused.fuse(shots);
  EXPECT_EQ(t.model_id, "fused:a+b");
  EXPECT_EQ(t.values, (std::vector<float>{1, 2, 15}));
  EXPECT_THROW(fused.fuse(std::vector<lc::Template>{}), lc::Error);
  EXPECT_THROW(fused.fuse(std::vector<lc::Template>{{"a", {0, 4}}}), lc::Error);
}
