// The frame functions' method= choice, parsed alike by register_frames.cpp and register_sigma_delta.cpp.
#pragma once

#include <string>

#include "common.hpp"
#include "scaleq/frames.hpp"

inline scaleq::FrameMethod parse_frame_method(const std::string& s) {
  static constexpr Choice<scaleq::FrameMethod> methods[] = {
      {"auto", scaleq::FrameMethod::Auto}, {"direct", scaleq::FrameMethod::Direct}, {"fft", scaleq::FrameMethod::FFT}};
  return parse_choice(s, "method", methods);
}
