// edxml_fixture.h: sample messages and temporary directories for the edxml
// tests.
#ifndef AXIS_TESTS_EDXML_EDXML_FIXTURE_H_
#define AXIS_TESTS_EDXML_EDXML_FIXTURE_H_

#include <stdlib.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "edxml/message.h"
#include "gtest/gtest.h"

namespace axis::edxml::testing_util {

// MakeTempDir creates a fresh directory under the test's temporary folder.
inline std::string MakeTempDir() {
  std::string tmpl = absl::StrCat(::testing::TempDir(), "/edxml-XXXXXX");
  char* dir = ::mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr);
  return tmpl;
}

inline std::string WriteTestFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
  return path;
}

inline std::string ReadTestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline Organization Org(const std::string& id, const std::string& name) {
  Organization o;
  o.organ_id = id;
  o.organ_name = name;
  return o;
}

// SampleMessage fills every element of MessageHeader and TraceHeaderList
// with valid values (Vietnamese where the field is text). It has no
// attachments; tests add them.
inline Message SampleMessage() {
  Message m;
  MessageHeader& h = m.header;
  h.from = Org("000.00.00.G22", "Văn phòng Chính phủ");
  h.from->organization_in_charge = "Chính phủ";
  h.from->organ_add = "Số 1 Hoàng Hoa Thám, Ba Đình, Hà Nội";
  h.from->email = "vpcp@chinhphu.vn";
  h.from->telephone = "080.43162";
  h.from->fax = "";
  h.from->website = "chinhphu.vn";
  h.to.push_back(Org("G09.01", "Bộ Thông tin và Truyền thông"));
  h.to.push_back(Org("000.00.00.H49", "UBND tỉnh Quảng Ninh"));
  h.document_id = "000.00.00.G22,2024/05/01,123/QĐ-TTg";
  h.code.emplace();
  h.code->code_number = "123";
  h.code->code_notation = "QĐ-TTg";
  h.promulgation_info.emplace();
  h.promulgation_info->place = "Hà Nội";
  h.promulgation_info->promulgation_date = "2024/05/01";
  h.document_type.emplace();
  h.document_type->type = "1";
  h.document_type->type_detail = "2";
  h.document_type->type_name = "Quyết định";
  h.subject = "Về việc phê duyệt Đề án phát triển ứng dụng dữ liệu về dân cư";
  h.content = "Nội dung tóm tắt: \"quy định\" & <điều khoản> thi hành";
  h.signer_info.emplace();
  h.signer_info->competence = "KT. THỦ TƯỚNG";
  h.signer_info->position = "PHÓ THỦ TƯỚNG";
  h.signer_info->full_name = "Nguyễn Văn A";
  h.due_date = "2024/06/01";
  h.to_places.emplace();
  h.to_places->place = {"Các Bộ, cơ quan ngang Bộ", "UBND các tỉnh, thành phố", "Lưu: VT, KSTT (3b)"};
  h.other_info.emplace();
  h.other_info->priority = "1";
  h.other_info->sphere_of_promulgation = "Toàn quốc";
  h.other_info->typer_notation = "VT";
  h.other_info->promulgation_amount = "30";
  h.other_info->page_amount = "4";
  h.other_info->direction = "0";
  h.other_info->appendixes.emplace();
  h.other_info->appendixes->appendix = {"Phụ lục I", "Phụ lục II"};
  h.steering_type = "1";
  ResponseFor& r = h.response_for.emplace_back();
  r.organ_id = "G09.01";
  r.code = "45/BTTTT-THH";
  r.promulgation_date = "2024/04/10";
  r.document_id = "G09.01,2024/04/10,45/BTTTT-THH";
  TraceHeaderList& t = m.trace_header_list.emplace();
  TraceHeader& hop = t.trace_header.emplace_back();
  hop.organ_id = "000.00.00.G22";
  hop.timestamp = "2024/05/01 08:30:00";
  Bussiness& b = t.bussiness.emplace();
  b.document_id = *h.document_id;
  b.bussiness_doc_type = "0";
  b.bussiness_doc_reason = "";
  b.paper = "0";
  b.staff_info.emplace();
  b.staff_info->department = "Phòng Văn thư";
  b.staff_info->staff = "Trần Thị B";
  b.staff_info->email = "vanthu@chinhphu.vn";
  b.staff_info->mobile = "0912345678";
  b.bussiness_document_info.emplace().receiver_list.emplace();
  Receiver& rc = b.bussiness_document_info->receiver_list->receiver.emplace_back();
  rc.organ_id = "G09.01";
  rc.receiver_type = "1";
  b.replacement_info_list.emplace();
  ReplacementInfo& ri = b.replacement_info_list->replacement_info.emplace_back();
  ri.document_id = "000.00.00.G22,2024/04/01,100/QĐ-TTg";
  ri.organ_id_list.emplace().organ_id = {"G09.01", "H37.02.02"};
  m.manifest.emplace().version = "1.0";
  return m;
}

// AddAttachment adds a manifest Reference and an Attachment for `file`.
inline void AddAttachment(Message* m, const std::string& cid, const std::string& name,
                          const std::string& file) {
  Reference& r = m->manifest->reference.emplace_back();
  r.content_id = cid;
  r.content_type = "application/pdf";
  r.description = "Văn bản điện tử";
  r.attachment_name = name;
  Attachment& a = m->attachments.emplace_back();
  a.content_id = cid;
  a.attachment_name = name;
  a.description = "Văn bản điện tử";
  a.content_type = "application/pdf";
  a.content.emplace().path = file;
}

// Minimal wraps a MessageHeader body (and optional extra header children and
// tail) in the envelope.
inline std::string Minimal(const std::string& message_header, const std::string& header_tail = "",
                           const std::string& after_envelope = "") {
  return absl::StrCat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<edXML xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">"
      "<edXML:edXMLEnvelope><edXML:edXMLHeader><edXML:MessageHeader>",
      message_header, "</edXML:MessageHeader>", header_tail,
      "</edXML:edXMLHeader></edXML:edXMLEnvelope>", after_envelope, "</edXML>\n");
}

}  // namespace axis::edxml::testing_util

#endif  // AXIS_TESTS_EDXML_EDXML_FIXTURE_H_
