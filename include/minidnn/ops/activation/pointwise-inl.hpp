// No include guard: compiled once per instruction set by ops/activation/pointwise.hpp.
/// \file
/// The element-wise activation loops (see ops/activation/pointwise.hpp and ops/activation.hpp),
/// plain C++ that the compiler vectorizes for the instruction set being compiled (they ran as
/// SSE2 in a build without -march).

namespace minidnn::cpu::MINIDNN_ISA_NS {

template <typename T>
void pointwise_forward(ops::Pointwise f, const T* x, T* y, std::size_t n) {
  switch (f) {
    case ops::Pointwise::relu:
      for (std::size_t i = 0; i < n; ++i) y[i] = x[i] < T(0) ? T(0) : x[i];
      break;
    case ops::Pointwise::sigmoid:
      for (std::size_t i = 0; i < n; ++i) y[i] = T(1) / (T(1) + std::exp(-x[i]));
      break;
    case ops::Pointwise::tanh:
      for (std::size_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
      break;
    default:
      for (std::size_t i = 0; i < n; ++i) y[i] = x[i];
  }
}

template <typename T>
void pointwise_backward(ops::Pointwise f, const T* y, const T* dy, T* dx, std::size_t n) {
  switch (f) {
    case ops::Pointwise::relu:
      // dy is loaded whatever y is: a conditional load keeps the compiler from vectorizing, and
      // the branch it leaves mispredicts on half the values of a ReLU's output.
      for (std::size_t i = 0; i < n; ++i) {
        const T g = dy[i];
        dx[i] = y[i] > T(0) ? g : T(0);
      }
      break;
    case ops::Pointwise::sigmoid:
      for (std::size_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (T(1) - y[i]);
      break;
    case ops::Pointwise::tanh:
      for (std::size_t i = 0; i < n; ++i) dx[i] = dy[i] * (T(1) - y[i] * y[i]);
      break;
    default:
      for (std::size_t i = 0; i < n; ++i) dx[i] = dy[i];
  }
}

/// ReLU in place (Activation::relu of ops/activation.hpp); NaN passes through.
template <typename T>
void relu_in_place(T* values, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) values[i] = values[i] < T(0) ? T(0) : values[i];
}

/// grads *= (outputs > 0) in place: the ReLU's backward from its outputs.
template <typename T>
void relu_backward_in_place(const T* outputs, T* grads, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) grads[i] = outputs[i] > T(0) ? grads[i] : T(0);
}

}  // namespace minidnn::cpu::MINIDNN_ISA_NS
